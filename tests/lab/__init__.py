"""The lab: a simulated Windows fleet over real WinRM and real SMB, for tests and the demo.

A test double: it answers exactly the PowerShell the collection sends, from a model of each host,
and runs a real Samba smbd per host (or per policy) so the network sees the modelled signing.
"""
