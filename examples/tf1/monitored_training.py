"""An MLP on the bundled digits trained with tf.train.MonitoredTrainingSession and the standard hooks.

The first session trains to step 300 and checkpoints; a second one resumes from that checkpoint
and trains to step 600, as a TF1 job restarted after a preemption does.
"""
import graphdl.compat.v1 as tf

import sys
import tempfile

import numpy as np
from _data import digits, one_hot, report

tf.disable_v2_behavior()
tf.logging.set_verbosity(tf.logging.INFO)

x_train, y_train, x_test, y_test = digits()
batch_size = 64
checkpoint_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tf1_monitored_")


def build_model():
    rng = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    y = tf.placeholder(tf.float32, [None, 10], name="y")
    hidden = tf.layers.dense(x, 64, activation=tf.nn.relu,
                             kernel_initializer=tf.constant_initializer(rng.randn(64, 64) * 0.1))
    logits = tf.layers.dense(hidden, 10, kernel_initializer=tf.constant_initializer(rng.randn(64, 10) * 0.1))
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdamOptimizer(learning_rate=0.005).minimize(loss, global_step=global_step)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
    tf.summary.scalar("loss", loss)
    return x, y, loss, train_op, accuracy


def train(last_step, seed):
    tf.reset_default_graph()
    x, y, loss, train_op, accuracy = build_model()
    rng = np.random.RandomState(seed)
    test_accuracy = tf.train.FinalOpsHook(accuracy, {x: x_test, y: one_hot(y_test)})
    hooks = [tf.train.StopAtStepHook(last_step=last_step),
             tf.train.NanTensorHook(loss),
             tf.train.LoggingTensorHook({"loss": loss}, every_n_iter=100),
             test_accuracy]
    losses = []
    with tf.train.MonitoredTrainingSession(checkpoint_dir=checkpoint_dir, hooks=hooks,
                                           save_checkpoint_steps=100, save_summaries_steps=50) as sess:
        while not sess.should_stop():
            idx = rng.randint(0, len(x_train), batch_size)
            _, batch_loss = sess.run([train_op, loss], feed_dict={x: x_train[idx], y: one_hot(y_train[idx])})
            losses.append(batch_loss)
    print(f"trained to step {last_step}: last batch loss {losses[-1]:.4f}, "
          f"test accuracy {test_accuracy.final_ops_values:.4f}")
    return losses, test_accuracy.final_ops_values


first_losses, first_accuracy = train(300, seed=1)
resumed_losses, accuracy = train(600, seed=2)
print("latest checkpoint:", tf.train.latest_checkpoint(checkpoint_dir))
report(initial=first_losses[0], first_accuracy=first_accuracy, resumed_steps=len(resumed_losses),
       loss=np.mean(resumed_losses[-50:]), accuracy=accuracy)
