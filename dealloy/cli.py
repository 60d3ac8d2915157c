"""The ``dealloy`` command line: parse, call one function, print. No logic lives here.

Subcommands are registered lazily by dotted path so that ``dealloy --help`` stays fast and each
subsystem owns its own command module (``dealloy/<home>/cli.py``).
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from dealloy import __version__
from dealloy.errors import DealloyError

# name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "info": "dealloy.info:info_command",
    "validate-potential": "dealloy.potentials.cli:validate_potential_command",
    "potential": "dealloy.fit.cli:potential_group",
    "build": "dealloy.builders.cli:build_command",
    "run": "dealloy.engine.cli:run_command",
    "quickstart": "dealloy.quickstart:quickstart_command",
    "analyze": "dealloy.analysis.cli:analyze_command",
    "diffusivity": "dealloy.potentials.cli:diffusivity_command",
    "study": "dealloy.study.cli:study_group",
    "report": "dealloy.report.cli:report_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands (:data:`COMMANDS`) are imported when first asked for."""

    def list_commands(self, ctx):
        """List the subcommands whose module imports (a missing subsystem is left out).

        Parameters
        ----------
        ctx : click.Context
            The invocation's context.

        Returns
        -------
        list of str
            Names of :data:`COMMANDS`, in their order.
        """
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx, name):
        """Import and return one subcommand.

        Parameters
        ----------
        ctx : click.Context
            The invocation's context.
        name : str
            The subcommand's name.

        Returns
        -------
        click.Command or None
            The command; None for an unknown name or a subsystem not installed.
        """
        return self._load(name)

    @staticmethod
    def _load(name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            missing = getattr(exc, "name", "") or ""
            if missing and (missing == module or module.startswith(missing + ".")
                            or missing == attr):
                return None  # subsystem not installed in this version
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="dealloy")
def cli():
    """dealloy: MD of electrochemical Li extraction (dealloying) from Li-Si nanoparticles.

    build -> run (LAMMPS, MPI) -> analyze (OVITO) -> study (SLURM sweeps) -> report.
    """


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Format a warning as a one-line note beside dealloy's own (``warnings.formatwarning``).

    Parameters
    ----------
    message : Warning or str
        The warning.
    category : type
        Its class.
    filename : str
        The source file that issued it (names the package in the note).
    lineno : int
        Its line (not shown).
    line : str, optional
        The source line (not shown).

    Returns
    -------
    str
        ``dealloy: note: ...`` for dealloy's warnings and plain UserWarnings,
        ``dealloy: note (DeprecationWarning, from numpy): ...`` otherwise; one line, no source
        paths or code.
    """
    text = " ".join(str(message).split())
    module = _module_of(filename)
    if category is UserWarning or module == "dealloy":
        return f"dealloy: note: {text}\n"
    return f"dealloy: note ({category.__name__}{f', from {module}' if module else ''}): {text}\n"


def _module_of(filename: str) -> str:
    """Top-level package of a source file (``.../site-packages/numpy/x.py`` -> ``numpy``)."""
    from pathlib import Path

    parts = Path(str(filename)).parts
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            i = parts.index(anchor)
            return parts[i + 1].split(".")[0] if i + 1 < len(parts) else ""
    return "dealloy" if "dealloy" in parts else ""


def main(argv=None):
    """Run the ``dealloy`` command line (the console entry point).

    User errors (:class:`~dealloy.errors.DealloyError`) print one clear line and exit with status
    2, usage errors one line with click's status, Ctrl-C "aborted" (130); no traceback. Warnings
    print as one-line notes (:func:`one_line_warning`).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    """
    old_format, warnings.formatwarning = warnings.formatwarning, one_line_warning
    try:
        cli.main(args=argv, prog_name="dealloy", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # bad/missing option: one line, not click's usage block
        cmd = exc.ctx.command_path if exc.ctx is not None else "dealloy"
        msg = " ".join(exc.format_message().split())
        click.echo(f"{cmd}: error: {msg} (see `{cmd} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except DealloyError as exc:
        click.echo(f"dealloy: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    finally:  # called from Python (tests, notebooks): leave its warning format as it was
        warnings.formatwarning = old_format


if __name__ == "__main__":  # pragma: no cover
    main()
