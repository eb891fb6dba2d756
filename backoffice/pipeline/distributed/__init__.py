"""The back office scaled out: stage steps as Celery tasks on any number of worker processes.

``app`` holds the Celery application and the one task (a stage step), ``executor`` the
:class:`CeleryExecutor` the dispatcher and the workers send steps through, ``worker`` what
``dis worker`` runs. The pipeline itself is unchanged: a step is the same idempotent
``StageRunner.run(stage_name, cookie)`` whichever process runs it.
"""
