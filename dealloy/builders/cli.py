"""``dealloy build KIND [options] -o FILE``: run one builder and write the structure."""

from __future__ import annotations

import contextlib
import json
import time

import click

from dealloy.builders import BUILDERS, get_builder
from dealloy.config.builders import BUILDER_ARGS, builder_parameters, check_builder_args
from dealloy.progress import BuildProgress
from dealloy.errors import ConfigError
from dealloy.io import guess_format, mpi_comm, write_structure

def _kinds() -> list[str]:
    return list(BUILDERS)


def builder_kwargs(kind: str, given: dict, extra: tuple[str, ...]) -> tuple[callable, dict]:
    """Resolve ``kind`` and merge options + ``--arg key=value`` into the builder's keywords.

    Parameters
    ----------
    kind : str
        Builder name (hyphens allowed).
    given : dict
        Option values of ``dealloy build`` (None: not given).
    extra : tuple of str
        ``--arg KEY=VALUE`` items; values parsed as JSON when possible.

    Returns
    -------
    (callable, dict)
        The builder and its keyword arguments, their types checked against the builder's
        parameter model (:mod:`dealloy.config.builders`); ranges are checked by the builder.

    Raises
    ------
    ConfigError
        For an unknown kind, an ``--arg`` without ``=``, a keyword the builder does not take, a
        missing required keyword or a value of the wrong type; the message lists what is allowed.
    """
    fn = get_builder(kind)
    kwargs = {k: v for k, v in given.items() if v is not None}
    for item in extra:
        if "=" not in item:
            raise ConfigError(f"--arg expects KEY=VALUE, got {item!r}")
        key, val = item.split("=", 1)
        key = key.strip().replace("-", "_")
        try:
            kwargs[key] = json.loads(val)
        except json.JSONDecodeError:
            kwargs[key] = val
    named = builder_parameters(kind)  # the builder's parameter model (dealloy.config.builders)
    bad = [k for k in kwargs if k not in named]
    if bad:
        opts = [option_name(k) for k in named if not option_name(k).startswith("--arg")]
        keys = [k for k in named if option_name(k).startswith("--arg")]
        raise ConfigError(f"builder {fn.__name__} takes no option {', '.join(bad)}; it accepts: "
                          f"{', '.join(opts)}" + (f"; and as --arg KEY=VALUE: {', '.join(keys)}"
                                                  if keys else ""))
    missing = [k for k, f in named.items() if f.is_required() and k not in kwargs]
    if missing:
        raise ConfigError(f"{kind}: missing {', '.join(option_name(k) for k in missing)} "
                          f"({'; '.join(_describe(k) for k in missing)}); e.g. `dealloy build "
                          f"{kind} {' '.join(option_name(k) + ' ' + _example(k) for k in missing)} "
                          "-o OUT.xyz`")
    if isinstance(kwargs.get("orientation"), str):
        o = kwargs["orientation"].strip()
        if o.startswith("["):
            kwargs["orientation"] = json.loads(o)
    try:  # the values' types against the builder's model (ranges: the builder, before it builds)
        check_builder_args(kind, kwargs, where="dealloy build")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return fn, kwargs


def option_name(param: str) -> str:
    """Name the ``dealloy build`` option that sets a builder keyword.

    Parameters
    ----------
    param : str
        Builder keyword.

    Returns
    -------
    str
        Its longest option (read from the command's own options), or ``--arg param=VALUE`` for
        keywords without an option of their own.
    """
    for opt in build_command.params:
        if opt.name == param and isinstance(opt, click.Option):
            return max(opt.opts, key=len)
    return f"--arg {param}=VALUE"


def _describe(param: str) -> str:
    for opt in build_command.params:
        if opt.name == param and isinstance(opt, click.Option) and opt.help:
            return f"{param}: {opt.help}"
    return param


def _example(param: str) -> str:
    return {"diameter_nm": "4", "x": "3.75", "dod": "0.5", "n_si": "64"}.get(param, "VALUE")


def output_format(path, fmt: str | None = None) -> str:
    """Choose and check the ASE format of the output file before anything is built.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    fmt : str, optional
        ASE format name; default from the suffix (.data/.lmp = LAMMPS data).

    Returns
    -------
    str
        An ASE format name that ASE can write.

    Raises
    ------
    ConfigError
        When the format cannot be told from the suffix or ASE cannot write it.
    """
    from ase.io.formats import filetype, ioformats

    if fmt is None:
        fmt = guess_format(path)
    if fmt is None:
        try:
            fmt = filetype(str(path), read=False)
        except Exception as exc:
            raise ConfigError(f"cannot tell the file format of {path} from its suffix ({exc}); "
                              "use .xyz, .data or give --format NAME (an ASE format)") from None
    if fmt not in ioformats or not ioformats[fmt].can_write:
        raise ConfigError(f"ASE cannot write format {fmt!r} (output {path}); use .xyz (extxyz), "
                          ".data (LAMMPS data) or --format with a format ASE writes")
    return fmt


#: builder argument -> short option of ``dealloy build`` (every argument has its long option)
SHORT_OPTIONS = {"diameter_nm": "-d"}


def _option_type(annotation):
    """Give the click type of a builder field: float / int / str (orientation: text, parsed as JSON)."""
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    if len(args) == 1 and args[0] in (float, int, str):
        return args[0]
    return str


def builder_options(fn):
    """Add one ``--name`` option per argument of any builder to a click command.

    Read from the builders' parameter models (:mod:`dealloy.config.builders`): the field's type,
    and its description (unit and the builder's default) as help, with the builders that take it
    when not all do.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the options attached.
    """
    fields: dict[str, dict[str, list[str]]] = {}  # argument -> description -> builders
    annotations = {}
    for name, model in BUILDER_ARGS.items():
        for key, info in model.model_fields.items():
            fields.setdefault(key, {}).setdefault(info.description or key, []).append(name)
            annotations.setdefault(key, info.annotation)
    for key in reversed(list(fields)):
        texts = fields[key]
        help_ = "; ".join(text + ("" if len(who) == len(BUILDER_ARGS) else f" [{', '.join(who)}]")
                          for text, who in texts.items())
        info = type("F", (), {"annotation": annotations[key]})
        decls = [SHORT_OPTIONS[key]] if key in SHORT_OPTIONS else []
        fn = click.option(*decls, "--" + key.replace("_", "-"), key,
                          type=_option_type(info.annotation), default=None, help=help_)(fn)
    return fn


@click.command("build", context_settings={"show_default": True})
@click.argument("kind")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="output file: .xyz/.extxyz (extended XYZ), .data/.lmp (LAMMPS data, type 1 = Li, "
                   "2 = Si) or any suffix ASE knows")
@click.option("-f", "--format", "fmt", default=None, help="ASE format name (default: from suffix)")
@builder_options
@click.option("--arg", "extra", multiple=True, metavar="KEY=VALUE",
              help="any builder keyword (value parsed as JSON when possible); repeatable")
@click.option("--quiet", "-q", is_flag=True, help="no phase messages or progress bar")
def build_command(kind, output, fmt, extra, quiet, **options):
    """Build a structure KIND and write it to -o FILE.

    KIND is a builder name (hyphens or underscores): li15si4_cell, si_particle, li15si4_particle,
    amorphous_lisi, amorphous_lisi_particle, core_shell_particle. Example:

        dealloy build li15si4-particle -d 5 --grain-size-nm 2.5 --seed 1 -o p.xyz

    \b
    Expected times (2-core machine, 1 rank, default potential; docs/builders.md):
      crystalline kinds: seconds, even at 20 nm (pure NumPy/ASE; MPI does not help)
      amorphous-lisi --x 3.75 --n-si 64 --protocol fast: ~2 min
      amorphous-lisi-particle -d 2.5 --protocol fast: ~7 min; core-shell-particle -d 3: ~15 min
      standard protocol, 128-Si cell tiled to a 5 nm particle: ~55 min
    The amorphous kinds run LAMMPS on every rank they are started on (mpiexec -n N dealloy
    build ...; rank 0 writes); MPI pays only for cells of thousands of atoms (304 atoms ran
    slower on 2 ranks than on 1). They print each phase with an estimated time left.
    \f

    Raises
    ------
    ConfigError
        For an unknown KIND, option or output format, or a builder argument out of range (before
        anything is built or written).
    SimulationError
        When an amorphous builder's MD fails (nothing is written).
    """  # noqa: D301 - "\b" keeps click's line breaks, "\f" ends the --help text
    given = dict(options)
    fn, kwargs = builder_kwargs(kind, given, extra)
    fmt = output_format(output, fmt)
    comm = mpi_comm()
    rank0 = comm.Get_rank() == 0
    t0 = time.time()
    with (BuildProgress(ranks=comm.Get_size()) if rank0 and not quiet else contextlib.nullcontext()):
        atoms = fn(**kwargs)
    write_structure(output, atoms, format=fmt)
    if rank0:
        n_si = sum(1 for s in atoms.get_chemical_symbols() if s == "Si")
        n_li = len(atoms) - n_si
        click.echo(f"{fn.__name__}: {len(atoms)} atoms (Li {n_li}, Si {n_si}) -> {output} "
                   f"({time.time() - t0:.1f} s on {comm.Get_size()} rank(s))")
