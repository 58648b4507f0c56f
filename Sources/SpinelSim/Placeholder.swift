import SpinelHDL
