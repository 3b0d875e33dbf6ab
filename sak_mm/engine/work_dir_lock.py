# Copyright (c) sak_mm contributors. All rights reserved.
"""One training run per work dir."""
import fcntl
import os
import os.path as osp
import socket
import time

#: the lock file, in the work dir
LOCK_NAME = '.train.lock'


class WorkDirBusyError(RuntimeError):
    """Another training run holds the work dir."""


class WorkDirLock:
    """Context manager holding an exclusive lock on ``<work_dir>/.train.lock``
    while a run trains there; a second run is refused, naming the first
    (its pid, host and start time, written into the file).

    The lock is ``flock``'s: the kernel releases it when the holder ends,
    however it ends (a kill -9 included), so a lock is never stale. On a
    file system without locks (some Lustre mounts) it warns and trains
    unlocked. Only the main process of a distributed run locks.

    Args:
        work_dir (str): The run's work dir.
        logger: Where the no-lock warning goes.
    """

    def __init__(self, work_dir: str, logger=None):
        self.path = osp.join(work_dir, LOCK_NAME)
        self.logger = logger
        self._file = None

    def __enter__(self) -> 'WorkDirLock':
        file = open(self.path, 'a+')
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            owner = file.read().strip() or 'a process that wrote nothing yet'
            file.close()
            raise WorkDirBusyError(
                f'{osp.dirname(self.path)} is in use by another training run '
                f'({owner}; lock file {self.path}): wait for it to end, stop '
                f'it, or train into another --work-dir') from None
        except OSError as error:
            file.close()
            if self.logger is not None:
                self.logger.warning(
                    f'cannot lock {self.path} ({error}): nothing stops a '
                    f'second run from training into this work dir')
            return self
        file.seek(0)
        file.truncate()
        file.write(f'pid {os.getpid()} on host {socket.gethostname()}, '
                   f'since {time.strftime("%Y-%m-%d %H:%M:%S")}\n')
        file.flush()
        self._file = file
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
