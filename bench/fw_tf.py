"""TensorFlow 1 graph mode (``tf.compat.v1``, eager execution disabled): placeholders,
``feed_dict``, ``Session.run``, ``tf.compat.v1.train`` optimizers: the API graphdl mirrors.

NHWC / HWIO for W2; W3 statically unrolled over the 28 steps with one matmul on
``concat([x_t, h])``, as ``static_rnn`` + ``BasicLSTMCell`` built it.
"""

import os

import tensorflow as tf

from bench import workloads as W

v1 = tf.compat.v1


def mlp_forward(v, x):
    return tf.matmul(tf.nn.relu(tf.matmul(x, v["W1"]) + v["b1"]), v["W2"]) + v["b2"]


def lenet_forward(v, x):
    h = tf.nn.relu(tf.nn.conv2d(x, v["c1w"], 1, "VALID") + v["c1b"])
    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.nn.relu(tf.nn.conv2d(h, v["c2w"], 1, "VALID") + v["c2b"])
    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.reshape(h, [-1, 400])
    h = tf.nn.relu(tf.matmul(h, v["f1w"]) + v["f1b"])
    h = tf.nn.relu(tf.matmul(h, v["f2w"]) + v["f2b"])
    return tf.matmul(h, v["f3w"]) + v["f3b"]


def lstm_forward(v, x):
    h = tf.zeros([W.W3_BATCH, W.W3_HIDDEN])
    c = tf.zeros([W.W3_BATCH, W.W3_HIDDEN])
    for x_t in tf.unstack(x, axis=1):
        gates = tf.matmul(tf.concat([x_t, h], 1), v["W"]) + v["b"]
        i, f, g, o = tf.split(gates, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
    return tf.matmul(h, v["Wd"]) + v["bd"]


def w4_expression(x):
    return tf.sigmoid(x * 1.5 + 0.5) * tf.tanh(x) + tf.nn.relu(x - 0.25)


class Impl:
    """TF1-style sessions with intra_op = inter_op = BENCH_THREADS."""

    name = "tf1"

    def __init__(self):
        threads = int(os.environ.get("BENCH_THREADS", "2"))
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        v1.disable_eager_execution()
        self.config = v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)

    def describe(self):
        """Facts the report prints next to the results."""
        return {"intra_op": self.config.intra_op_parallelism_threads}

    def _train(self, forward, params, x, y, make_optimizer):
        graph = tf.Graph()
        with graph.as_default():
            x_ph = v1.placeholder(tf.float32, x.shape)
            y_ph = v1.placeholder(tf.int64, y.shape)
            v = {k: tf.Variable(p, name=k) for k, p in params.items()}
            logits = forward(v, x_ph)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_ph, logits=logits))
            train_op = make_optimizer().minimize(loss)
            init = v1.global_variables_initializer()
        sess = v1.Session(graph=graph, config=self.config)
        sess.run(init)
        feed = {x_ph: x, y_ph: y}

        def step():
            _, value = sess.run([train_op, loss], feed_dict=feed)
            return float(value)
        return step

    @staticmethod
    def _adam():
        return v1.train.AdamOptimizer(W.ADAM["lr"], W.ADAM["beta1"], W.ADAM["beta2"], W.ADAM["eps"])

    def w1(self):
        x, y = W.w1_data()
        return self._train(mlp_forward, W.mlp_params(), x, y, self._adam)

    def w2(self):
        x, y = W.w2_data_nhwc()
        return self._train(lenet_forward, W.cnn_params_nhwc(), x, y,
                           lambda: v1.train.MomentumOptimizer(W.MOMENTUM["lr"], W.MOMENTUM["momentum"]))

    def w3(self):
        x, y = W.w3_data()
        return self._train(lstm_forward, W.lstm_params_concat(), x, y, self._adam)

    def w4(self):
        x = W.w4_input()
        graph = tf.Graph()
        with graph.as_default():
            x_ph = v1.placeholder(tf.float32, x.shape)
            out = w4_expression(x_ph)
        sess = v1.Session(graph=graph, config=self.config)
        feed = {x_ph: x}
        return lambda: sess.run(out, feed_dict=feed)

    def w5(self):
        x = W.w5_input()
        graph = tf.Graph()
        with graph.as_default():
            x_ph = v1.placeholder(tf.float32, x.shape)
            v = {k: tf.Variable(p) for k, p in W.mlp_params().items()}
            out = mlp_forward(v, x_ph)
            init = v1.global_variables_initializer()
        sess = v1.Session(graph=graph, config=self.config)
        sess.run(init)
        feed = {x_ph: x}
        return lambda: sess.run(out, feed_dict=feed)
