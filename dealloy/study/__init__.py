"""Studies: sweeps over the paper's parameter space, run locally or as SLURM job arrays.

``workflows/*.toml`` (schema: :mod:`dealloy.config.study`) -> :mod:`.plan` (expand, hash, study
directory) -> :mod:`.local` (run here) or :mod:`.submit` + :mod:`.slurm` (sbatch job array) ->
:mod:`.state` (status) -> :mod:`.collect` (table + figures). No physics lives here.
"""
