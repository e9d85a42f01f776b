//! Thread-affine workers.
//! (Being written: issue 4.)
