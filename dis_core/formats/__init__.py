"""Real file formats the project writes and reads: PE images (``pe``), compound files
(``cfb``), MS-OVBA compression and VBA project streams (``ovba``) and Office documents with a
VBA project (``documents``). Used by the simulated world, the definitions and the back office;
nothing here knows about viruses."""
