"""Helpers that TF 1.x tutorials import (``tensorflow.examples.tutorials.mnist.input_data``)."""
