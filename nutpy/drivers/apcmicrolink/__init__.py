"""NUT's ``apcmicrolink`` driver: a trio shell (:mod:`.driver`) around the
session of :mod:`nutpy.protocols.apcmicrolink`."""
