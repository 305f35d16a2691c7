package utask

const (
	MaxTextSizeLong = 100000
	MaxTextSize     = 1000
	MinTextSize     = 3
	This            = "this"
)
