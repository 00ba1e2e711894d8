"""What happened: the event log (:mod:`~nutpy.history.chronicle`, kept running by
:mod:`~nutpy.history.recorder`), for the front ends that show the past."""
