"""Eager execution: ops that run at once, ``GradientTape``, custom gradients, the tfe API.

Modules: :mod:`.tensor` (EagerTensor), :mod:`.execute` (dispatch and the per-op
executable cache), :mod:`.tape` (GradientTape and backprop), :mod:`.custom_gradient`,
:mod:`.variables` (EagerVariable), :mod:`.tfe` (``tf.contrib.eager``'s functions).

This file imports nothing, so that lower frontend modules can import
:mod:`.tensor` alone; ``xlc/__init__.py`` imports the rest (which plugs eager
dispatch into :func:`xlc.frontend.graph.apply_op` and eager variables into
:class:`xlc.frontend.variables.Variable`).
"""
