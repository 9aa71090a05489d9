// The codec is its own target (MultiprocessingCodec); `import Multiprocessing` shows it too, so
// BinaryEncoder, BinaryDecoder and CodecError stay part of this module's public API.

@_exported import MultiprocessingCodec
