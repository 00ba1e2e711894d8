"""Values the tests hold the code to, shared by several test modules.

The Microlink values are those of the simulated SMT1500I whose descriptor is
the table of the Microlink spec (``apc-microlink.md``, sections 6 and 8).
"""

from __future__ import annotations

H = bytes.fromhex

# What the Microlink driver publishes for the simulator's initial state.
EXPECTED = {
    "ups.mfr": "APC", "device.mfr": "APC",
    "ups.serial": "AS2101123456", "device.serial": "AS2101123456",
    "ups.mfr.date": "2021-01-08", "ups.model": "Smart-UPS 1500",
    "device.model": "Smart-UPS 1500", "experimental.device.sku": "SMT1500I",
    "ups.productid": "0003", "ups.vendorid": "051d", "ups.firmware": "UPS 15.0",
    "battery.date": "2024-03-15", "experimental.battery.sku": "APCRBC7", "ups.id": "SIMUPS",
    "ups.test.interval": "OnStartUpPlus14", "battery.date.maintenance": "2027-03-15",
    "battery.lowruntimewarning": "150", "input.transfer.high": "265",
    "input.transfer.low": "195", "ups.power.nominal": "1500",
    "ups.realpower.nominal": "1000", "experimental.output.voltage.setting": "VAC230",
    "outlet.group.0.delay.start": "0", "outlet.group.0.delay.shutdown": "90",
    "outlet.group.0.delay.reboot": "8", "outlet.group.0.minimumreturnruntime": "0",
    "outlet.group.0.lowruntimewarning": "150", "outlet.group.0.name": "Main Outlets",
    "battery.lifetime.status": "LifeTimeStatusOK", "battery.voltage": "27.3125",
    "battery.charge": "100", "ups.test.result": "Passed",
    "experimental.ups.calibration.result": "None", "battery.runtime": "2460",
    "ups.temperature": "25.5", "battery.temperature": "25.5",
    "output.voltage": "230", "output.current": "1.3125", "output.frequency": "50",
    "ups.load": "18", "ups.realpower": "180", "ups.power": "300",
    "input.quality": "Acceptable", "input.voltage": "231.5", "input.frequency": "50",
    "ups.efficiency": "97", "outlet.group.0.status": "StateOn",
    "experimental.outlet.group.0.status.cause": "SystemInitialization",
    "experimental.output.energy": "123456", "ups.display.language": "en",
    "ups.status": "OL", "input.transfer.reason": "AcceptableInput",
    "outlet.group.count": "1", "experimental.device.status": "OL",
}


# Instant command -> the exact frame (spec §6 values, §8 layout).
COMMAND_FRAMES = {
    "test.battery.start": H("6D04020401"),
    "test.battery.stop": H("6D04020402"),
    "calibrate.start": H("6D08020401"),
    "calibrate.stop": H("6D08020402"),
    "test.panel.start": H("6F02020001"),
    "beeper.mute": H("6F02020004"),
    "bypass.start": H("7100040800 0010".replace(" ", "")),
    "bypass.stop": H("71000408000020"),
    "load.off": H("7108024104"),
    "load.on": H("7108024102"),
    "load.cycle": H("7108024110"),
    "load.off.delay": H("7108024184"),
    "load.on.delay": H("7108024142"),
    "shutdown.return": H("7108024188"),
    "shutdown.default": H("7108024188"),
    "shutdown.stayoff": H("7108024184"),
    "shutdown.reboot": H("7108024110"),
    "shutdown.reboot.graceful": H("7108024190"),
    "outlet.group.0.load.off": H("7108024104"),
    "outlet.group.0.shutdown.return": H("7108024188"),
}
