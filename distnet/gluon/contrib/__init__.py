"""``mx.gluon.contrib``: the contributed layers common scripts import (``contrib.nn``,
``contrib.rnn``, ``contrib.data``)."""

from . import nn, rnn, data  # noqa: F401
