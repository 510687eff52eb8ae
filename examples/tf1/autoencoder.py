"""A dense autoencoder (64 -> 32 -> 16 -> 32 -> 64, sigmoid) trained with RMSProp to reconstruct the digits."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, _, x_test, _ = digits()
learning_rate, training_epochs, batch_size = 0.01, 20, 64
n_input, n_hidden_1, n_hidden_2 = 64, 32, 16

rng = np.random.RandomState(0)
X = tf.placeholder("float", [None, n_input])


def dense(shape):
    return tf.Variable(rng.randn(*shape).astype(np.float32) * 0.1), tf.Variable(np.zeros(shape[1], np.float32))


enc1, enc2, dec1, dec2 = dense([64, 32]), dense([32, 16]), dense([16, 32]), dense([32, 64])


def layer(x, wb):
    return tf.nn.sigmoid(tf.add(tf.matmul(x, wb[0]), wb[1]))


encoder_op = layer(layer(X, enc1), enc2)
decoder_op = layer(layer(encoder_op, dec1), dec2)
loss = tf.reduce_mean(tf.pow(X - decoder_op, 2))
optimizer = tf.train.RMSPropOptimizer(learning_rate).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    initial = sess.run(loss, {X: x_test})
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        _, l = sess.run([optimizer, loss], feed_dict={X: x_train[idx]})
        if step % 100 == 0:
            print(f"step {step:4d}  minibatch loss={l:.5f}")
    final = sess.run(loss, {X: x_test})
    print(f"test reconstruction error {initial:.5f} -> {final:.5f} ({initial / final:.1f}x lower)")
    report(initial=initial, loss=final)
