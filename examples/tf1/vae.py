"""A variational autoencoder: Gaussian encoder, reparameterization trick, Bernoulli decoder, ELBO with the KL term."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, _, x_test, _ = digits()
learning_rate, training_epochs, batch_size = 0.005, 30, 64
image_dim, hidden_dim, latent_dim = 64, 64, 4

rng = np.random.RandomState(0)


def glorot(shape):
    return tf.Variable((rng.randn(*shape) / np.sqrt(shape[0] / 2.0)).astype(np.float32))


weights = {"encoder_h1": glorot([image_dim, hidden_dim]), "z_mean": glorot([hidden_dim, latent_dim]),
           "z_std": glorot([hidden_dim, latent_dim]), "decoder_h1": glorot([latent_dim, hidden_dim]),
           "decoder_out": glorot([hidden_dim, image_dim])}
biases = {k: tf.Variable(np.zeros(v.get_shape().as_list()[1], np.float32)) for k, v in weights.items()}

input_image = tf.placeholder(tf.float32, shape=[None, image_dim])
epsilon = tf.placeholder(tf.float32, shape=[None, latent_dim])
encoder = tf.nn.tanh(tf.matmul(input_image, weights["encoder_h1"]) + biases["encoder_h1"])
z_mean = tf.matmul(encoder, weights["z_mean"]) + biases["z_mean"]
z_std = tf.matmul(encoder, weights["z_std"]) + biases["z_std"]
z = z_mean + tf.exp(z_std / 2) * epsilon
decoder = tf.nn.tanh(tf.matmul(z, weights["decoder_h1"]) + biases["decoder_h1"])
decoder = tf.nn.sigmoid(tf.matmul(decoder, weights["decoder_out"]) + biases["decoder_out"])


def vae_loss(x_reconstructed, x_true):
    encode_decode_loss = x_true * tf.log(1e-10 + x_reconstructed) + (1 - x_true) * tf.log(1e-10 + 1 - x_reconstructed)
    encode_decode_loss = -tf.reduce_sum(encode_decode_loss, 1)
    kl_div_loss = 1 + z_std - tf.square(z_mean) - tf.exp(z_std)
    kl_div_loss = -0.5 * tf.reduce_sum(kl_div_loss, 1)
    return tf.reduce_mean(encode_decode_loss + kl_div_loss)


loss_op = vae_loss(decoder, input_image)
train_op = tf.train.RMSPropOptimizer(learning_rate=learning_rate).minimize(loss_op)

noise = np.random.RandomState(1)
test_eps = noise.randn(len(x_test), latent_dim).astype(np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    initial = sess.run(loss_op, {input_image: x_test, epsilon: test_eps})
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        eps = noise.randn(len(idx), latent_dim).astype(np.float32)
        _, l = sess.run([train_op, loss_op], feed_dict={input_image: x_train[idx], epsilon: eps})
        if step % 200 == 0:
            print(f"step {step:4d}  minibatch -ELBO={l:.3f}")
    final = sess.run(loss_op, {input_image: x_test, epsilon: test_eps})
    print(f"test -ELBO {initial:.2f} -> {final:.2f}")
    report(initial=initial, loss=final)
