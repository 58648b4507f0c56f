// The golden model interprets SpinelISA's commands on SpinelISA's configurations, and its clients
// name them: re-exported, so that importing the golden model brings the vocabulary it speaks.
@_exported import SpinelISA
