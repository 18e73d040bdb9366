"""Telephony: the voice-provider port (11 §1), its outbox dispatcher, and the simulator.

The commands and events themselves are data in `switchboard.domain.voice`; this
package is what sends them (`port.VoiceProvider`, `dispatch`) and the in-process
provider every test and the demo use (`simulator`).
"""
