//! Frame decoders (in progress).
