"""The Textual user interface: renders site events, sends commands to the site.

Importing it tunes the process for a booth: the screen repaints at most 20 times a second
(TEXTUAL_FPS, unless set) and threads hand over the interpreter every 0.2 ms, so that
repainting never holds a lane's plate-to-gate path for long. Both are set before Textual
is imported, which reads TEXTUAL_FPS once.
"""

import os
import sys

os.environ.setdefault("TEXTUAL_FPS", "20")
sys.setswitchinterval(0.0002)
