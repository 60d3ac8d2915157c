"""Distil a universal machine-learned potential (the *teacher*) into a LAMMPS-native student.

The student is a Li-Si potential LAMMPS runs natively: ``dealloy potential fit`` and
:func:`fit_potential`.

A workflow above the engine (docs/fitting.md): teacher (:mod:`.teacher`) -> configurations and
labels (:mod:`.dataset`) -> students (:mod:`.students`: POD by LAMMPS fitpod, SNAP by FitSNAP) ->
validation (:mod:`.evaluate`) -> a registry folder (:func:`dealloy.potentials.fitted_potential`);
then active learning (:mod:`.active`, :func:`learn_potential`): MD with the student, label where
a committee disagrees or the MD fails, refit.
The teacher and FitSNAP come with the optional extra ``pip install "dealloy[fit]"``; running a
fitted potential needs only the base install.
"""

from dealloy.fit.dataset import DataSpec, merge_datasets, read_dataset, write_dataset
from dealloy.fit.teacher import DEFAULT_TEACHER, load_teacher
from dealloy.fit.workflow import fit_potential
from dealloy.fit.active import ActiveSpec, learn_potential

__all__ = ["ActiveSpec", "DEFAULT_TEACHER", "DataSpec", "fit_potential", "learn_potential",
           "load_teacher", "merge_datasets", "read_dataset", "write_dataset"]
