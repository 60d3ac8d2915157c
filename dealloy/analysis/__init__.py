"""Analysis suite of dealloy: per-frame metrics, trajectories, MSD, plots, virtual microscopy.

Every metric has one shape: params -> compute(frame) -> results. Also the trajectory loop,
MSD/diffusivity, plots and virtual microscopy. See docs/analysis.md.

Notebook use::

    from dealloy.analysis import analyze_frame, SiNetwork, VoxelMetrics
    m = analyze_frame(atoms)                 # the JSON-contract dict of one frame
    net = SiNetwork(si_si_cutoff_angstrom=2.9).compute(pipeline).results   # net.a2_index
    doc = MetricsFile.read("runs/r1/analysis/metrics.json")   # doc.frames[-1].porosity
    summary = analyze_path("runs/r1", frames="::10")   # a run directory -> <run>/analysis/
    frames = read_frames("traj.lammpstrj.gz", "all"); d = li_msd(frames).diffusion_cm2_per_s
"""

from dealloy.analysis.base import Analysis
from dealloy.analysis.core import AnalysisParams, analyze_frame, flat_row, to_json
from dealloy.analysis.frame import Frame, as_frame
from dealloy.analysis.results import FrameMetrics, LiDiffusion, MetricsFile, Results
from dealloy.analysis.structure import Crystallinity, PartialRDF, SiNetwork
from dealloy.analysis.run import analyze_path
from dealloy.analysis.trajectory import iter_frames, li_msd, msd, read_frames
from dealloy.analysis.voxel import VoxelMetrics

__all__ = ["Analysis", "AnalysisParams", "Crystallinity", "Frame", "FrameMetrics", "LiDiffusion",
           "MetricsFile", "PartialRDF", "Results", "SiNetwork",
           "VoxelMetrics", "analyze_frame", "analyze_path", "as_frame", "flat_row", "iter_frames",
           "li_msd", "msd", "read_frames", "to_json"]
