"""The simulated malware world: harmless samples, goats and the emulators that run them.

Modules: ``vfs`` (VirtualFS, Event, RunResult), ``bytecode`` (SimVM opcodes, carrier,
assembler), ``emulator`` (SimVM interpreter: ``run_binary``, ``find_program``), ``pe`` (PE
images and the edits viruses make), ``programs`` (family programs), ``binaries`` (droppers,
patient zero), ``cfb`` / ``ovba`` / ``documents`` (compound files, VBA projects, Office
documents), ``vba`` (SimVBA interpreter), ``office`` (simulated Office: ``run_document``,
``read_modules``, ``write_document``, ``remove_modules``), ``macros`` (macro families),
``goats``, ``datafiles`` (PNG, WAV, encrypted ZIP/OOXML, EICAR), ``known`` (baseline
signatures), ``generator`` and ``cli`` (``dis fixtures generate``).
See docs/simulated-malware.md.
"""
