// The generator builds its hardware from SpinelISA's configurations and encodings, and its clients
// name them (a configuration to generate, a funct to send): re-exported, so that importing the
// generator brings the vocabulary it is built from.
@_exported import SpinelISA
