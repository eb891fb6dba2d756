"""The simulated malware world: harmless samples, goats and the emulators that run them.

Modules: ``vfs`` (VirtualFS, Event, RunResult), ``bytecode`` (SimVM opcodes, carrier,
assembler), ``emulator`` (SimVM interpreter: ``run_binary``, ``find_program``), ``programs`` (family
programs), ``binaries`` (droppers, patient zero), ``vba`` (SimVBA interpreter), ``office``
(simulated Office: ``run_document``), ``macros`` (macro families), ``goats``, ``datafiles``
(PNG, WAV, encrypted ZIP/OOXML, EICAR), ``generator`` and ``cli`` (``dis fixtures generate``).
The real file formats (PE, compound file, MS-OVBA, Office documents) are in
``dis_core.formats``; the baseline signatures are in ``dis_core.definitions.baseline``.
See docs/simulated-malware.md.
"""
