"""Moving samples from stage to stage: the stages, the runner, executors, pools, publishing."""
