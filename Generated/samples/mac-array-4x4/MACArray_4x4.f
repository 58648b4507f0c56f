MACCell_8x32.v
MACArray_4x4.v
