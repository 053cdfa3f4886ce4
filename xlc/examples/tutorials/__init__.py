"""TF 1.x tutorial helpers, under the paths the tutorials import them from."""
