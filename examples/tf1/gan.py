"""A GAN on the digits: generator and discriminator MLPs, two Adam optimizers on separate var_lists."""
import graphdl.compat.v1 as tf

import numpy as np
from _data import batches, digits, report

tf.disable_v2_behavior()

x_train, _, _, _ = digits()
training_epochs, batch_size, learning_rate = 20, 64, 0.002
image_dim, gen_hidden_dim, disc_hidden_dim, noise_dim = 64, 64, 64, 16

rng = np.random.RandomState(0)


def glorot(shape):
    return tf.Variable((rng.randn(*shape) / np.sqrt(shape[0] / 2.0)).astype(np.float32))


weights = {"gen_hidden1": glorot([noise_dim, gen_hidden_dim]), "gen_out": glorot([gen_hidden_dim, image_dim]),
           "disc_hidden1": glorot([image_dim, disc_hidden_dim]), "disc_out": glorot([disc_hidden_dim, 1])}
biases = {k: tf.Variable(np.zeros(v.get_shape().as_list()[1], np.float32)) for k, v in weights.items()}


def generator(x):
    hidden_layer = tf.nn.relu(tf.add(tf.matmul(x, weights["gen_hidden1"]), biases["gen_hidden1"]))
    return tf.nn.sigmoid(tf.add(tf.matmul(hidden_layer, weights["gen_out"]), biases["gen_out"]))


def discriminator(x):
    hidden_layer = tf.nn.relu(tf.add(tf.matmul(x, weights["disc_hidden1"]), biases["disc_hidden1"]))
    return tf.nn.sigmoid(tf.add(tf.matmul(hidden_layer, weights["disc_out"]), biases["disc_out"]))


gen_input = tf.placeholder(tf.float32, shape=[None, noise_dim], name="input_noise")
disc_input = tf.placeholder(tf.float32, shape=[None, image_dim], name="disc_input")
gen_sample = generator(gen_input)
disc_real, disc_fake = discriminator(disc_input), discriminator(gen_sample)
gen_loss = -tf.reduce_mean(tf.log(disc_fake + 1e-8))
disc_loss = -tf.reduce_mean(tf.log(disc_real + 1e-8) + tf.log(1.0 - disc_fake + 1e-8))
optimizer_gen = tf.train.AdamOptimizer(learning_rate=learning_rate)
optimizer_disc = tf.train.AdamOptimizer(learning_rate=learning_rate)
gen_vars = [weights["gen_hidden1"], weights["gen_out"], biases["gen_hidden1"], biases["gen_out"]]
disc_vars = [weights["disc_hidden1"], weights["disc_out"], biases["disc_hidden1"], biases["disc_out"]]
train_gen = optimizer_gen.minimize(gen_loss, var_list=gen_vars)
train_disc = optimizer_disc.minimize(disc_loss, var_list=disc_vars)

noise = np.random.RandomState(1)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step, idx in enumerate(batches(len(x_train), batch_size, training_epochs), 1):
        z = noise.uniform(-1.0, 1.0, size=[len(idx), noise_dim]).astype(np.float32)
        _, _, gl, dl = sess.run([train_gen, train_disc, gen_loss, disc_loss],
                                feed_dict={disc_input: x_train[idx], gen_input: z})
        if step % 100 == 0:
            print(f"step {step:4d}  generator loss={gl:.4f}  discriminator loss={dl:.4f}")
    z = noise.uniform(-1.0, 1.0, size=[500, noise_dim]).astype(np.float32)
    samples = sess.run(gen_sample, {gen_input: z})
    final_d = sess.run(disc_loss, {disc_input: x_train[:500], gen_input: z})
    print(f"final discriminator loss {final_d:.4f}; sample mean intensity {samples.mean():.3f} "
          f"(data {x_train.mean():.3f})")
    report(disc_loss=final_d, sample_mean=samples.mean())
