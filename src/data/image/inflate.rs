//! Decompression of zlib streams (RFC 1950) holding DEFLATE data (RFC 1951): what a PNG's pixels
//! are stored in. Written from the two specifications for chapter 12's `--predict`.
//!
//! DEFLATE is a sequence of blocks, each starting with 3 bits: "last block?" and a type:
//! - **stored** (type 0): the bytes as they are, after a 4-byte `LEN · !LEN` header;
//! - **fixed Huffman** (type 1): literals, lengths and distances coded with a code table fixed by the
//!   specification;
//! - **dynamic Huffman** (type 2): the block first describes its own code tables, compactly (the
//!   code lengths are themselves Huffman-coded, with run-length codes 16, 17, 18).
//!
//! A Huffman-coded block is a stream of symbols: 0–255 are literal bytes, 256 ends the block, and
//! 257–285 are lengths (3–258, with extra bits) each followed by a distance (1–32768, with extra
//! bits): "copy `length` bytes from `distance` bytes back in the output" — LZ77. The codes are
//! *canonical*: a code is fully given by the bit length of each symbol's code word, which is all a
//! block needs to send. Bits are read from the least significant end of each byte, but Huffman code
//! words are stored most significant bit first, so the decoder looks codes up bit-reversed.
//!
//! zlib adds a 2-byte header (compression method 8 = DEFLATE, window size, a check that makes the
//! header a multiple of 31, no preset dictionary in PNG) and, after the data, the Adler-32 checksum
//! of the uncompressed bytes (big-endian).
//!
//! The input is treated as hostile: every read is bounds-checked (a truncated stream is an error,
//! never a panic), code tables that assign more code words than bits allow are refused, a distance
//! reaching before the start of the output is refused, and the output may not grow beyond
//! `max_output` bytes — the caller knows how much to expect (a PNG's size follows from its header),
//! so a small file cannot make the decoder allocate gigabytes.
//!
//! What it leaves out: streaming (the whole input and output are in memory), preset dictionaries,
//! and speed tricks beyond one lookup table per code.

use crate::report::png::adler32;

/// An error of a zlib/DEFLATE stream, in words (the PNG decoder adds the file's name).
pub type InflateError = String;

/// The longest code word DEFLATE allows.
const MAX_CODE_BITS: usize = 15;

/// Reads bits least-significant first from a byte slice.
struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte to load into `buffer`.
    position: usize,
    /// Bits loaded but not consumed, the next one in bit 0.
    buffer: u64,
    /// How many bits `buffer` holds.
    count: u32,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader {
            bytes,
            position: 0,
            buffer: 0,
            count: 0,
        }
    }

    /// Loads bytes until at least `n` bits are buffered (or the input ends).
    fn fill(&mut self, n: u32) {
        while self.count < n && self.position < self.bytes.len() {
            self.buffer |= u64::from(self.bytes[self.position]) << self.count;
            self.position += 1;
            self.count += 8;
        }
    }

    /// The next `n` ≤ 32 bits as a number (first bit read = least significant).
    fn bits(&mut self, n: u32) -> Result<u32, InflateError> {
        if n == 0 {
            return Ok(0);
        }
        self.fill(n);
        if self.count < n {
            return Err("the compressed data end in the middle of a block (truncated?)".into());
        }
        let value = (self.buffer & ((1u64 << n) - 1)) as u32;
        self.buffer >>= n;
        self.count -= n;
        Ok(value)
    }

    /// Up to `n` bits without consuming them (fewer at the end of the input), and how many there are.
    fn peek(&mut self, n: u32) -> (u32, u32) {
        self.fill(n);
        let available = self.count.min(n);
        ((self.buffer & ((1u64 << available) - 1)) as u32, available)
    }

    fn consume(&mut self, n: u32) {
        self.buffer >>= n;
        self.count -= n;
    }

    /// Drops the bits left in the current byte (stored blocks start on a byte boundary).
    fn align_to_byte(&mut self) {
        let drop = self.count % 8;
        self.consume(drop);
    }

    /// The next `n` whole bytes (after [`BitReader::align_to_byte`]).
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], InflateError> {
        // Give back the whole bytes still in the buffer.
        let buffered = (self.count / 8) as usize;
        self.position -= buffered;
        self.buffer = 0;
        self.count = 0;
        let end = self
            .position
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("a stored block runs past the end of the data (truncated?)")?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    /// The index of the first byte not consumed (after aligning).
    fn byte_position(&self) -> usize {
        self.position - (self.count / 8) as usize
    }
}

/// A canonical Huffman code as a lookup table: the next `max_bits` input bits (as read, i.e.
/// bit-reversed code words) index an entry holding the symbol and its code length.
struct Huffman {
    /// `(symbol, length)`; length 0 marks a bit pattern no code word starts with.
    table: Vec<(u16, u8)>,
    max_bits: u32,
}

impl Huffman {
    /// Builds the code from each symbol's code length (0 = unused), as RFC 1951 §3.2.2 assigns
    /// them: shorter codes first, and within a length in symbol order. Refuses over-subscribed
    /// lengths (more code words than bits allow) and a code with no symbol at all.
    fn new(lengths: &[u8]) -> Result<Huffman, InflateError> {
        let mut count = [0u32; MAX_CODE_BITS + 1];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let max_bits = (1..=MAX_CODE_BITS)
            .rev()
            .find(|&l| count[l] > 0)
            .ok_or("a Huffman code table has no symbols (every code length is 0)".to_string())?;
        // The first code word of each length; `left` counts the code words still free.
        let mut next_code = [0u32; MAX_CODE_BITS + 2];
        let mut code = 0u32;
        let mut left = 1i64;
        for bits in 1..=MAX_CODE_BITS {
            left = left * 2 - i64::from(count[bits]);
            if left < 0 {
                return Err(format!(
                    "a Huffman code table is over-subscribed (too many codes of {bits} bits)"
                ));
            }
            code = (code + count[bits - 1]) << 1;
            next_code[bits] = code;
        }
        let size = 1usize << max_bits;
        let mut table = vec![(0u16, 0u8); size];
        for (symbol, &length) in lengths.iter().enumerate() {
            if length == 0 {
                continue;
            }
            let length = usize::from(length);
            let code = next_code[length];
            next_code[length] += 1;
            // Reverse the code word's bits: the stream delivers its first bit first.
            let mut reversed = 0usize;
            for i in 0..length {
                reversed |= (((code >> i) & 1) as usize) << (length - 1 - i);
            }
            // Every table index whose low `length` bits are the code word decodes to `symbol`.
            let mut index = reversed;
            while index < size {
                table[index] = (symbol as u16, length as u8);
                index += 1 << length;
            }
        }
        Ok(Huffman {
            table,
            max_bits: max_bits as u32,
        })
    }

    /// Decodes one symbol.
    fn decode(&self, reader: &mut BitReader) -> Result<u16, InflateError> {
        let (bits, available) = reader.peek(self.max_bits);
        let (symbol, length) = self.table[bits as usize];
        if length == 0 {
            return Err("a bit pattern that is no code word of the block's Huffman code".into());
        }
        if u32::from(length) > available {
            return Err("the compressed data end in the middle of a code word (truncated?)".into());
        }
        reader.consume(u32::from(length));
        Ok(symbol)
    }
}

/// Length symbols 257…285: the base length and the number of extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distance symbols 0…29: the base distance and the number of extra bits.
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which a dynamic block sends the code lengths of the code-length alphabet.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The fixed codes of block type 1 (RFC 1951 §3.2.6).
fn fixed_codes() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    lengths[..144].fill(8);
    lengths[144..256].fill(9);
    lengths[256..280].fill(7);
    lengths[280..].fill(8);
    let literal = Huffman::new(&lengths).expect("the fixed literal code is valid");
    let distance = Huffman::new(&[5u8; 30]).expect("the fixed distance code is valid");
    (literal, distance)
}

/// Reads a dynamic block's code description (RFC 1951 §3.2.7).
fn dynamic_codes(reader: &mut BitReader) -> Result<(Huffman, Huffman), InflateError> {
    let literal_count = reader.bits(5)? as usize + 257;
    let distance_count = reader.bits(5)? as usize + 1;
    let code_length_count = reader.bits(4)? as usize + 4;
    if literal_count > 286 || distance_count > 30 {
        return Err(format!(
            "a dynamic block declares {literal_count} literal/length and {distance_count} distance \
             codes (at most 286 and 30)"
        ));
    }
    let mut code_length_lengths = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
        code_length_lengths[symbol] = reader.bits(3)? as u8;
    }
    let code_lengths = Huffman::new(&code_length_lengths)?;
    let mut lengths = vec![0u8; literal_count + distance_count];
    let mut i = 0;
    while i < lengths.len() {
        let symbol = code_lengths.decode(reader)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                if i == 0 {
                    return Err("code length 16 (repeat the previous) with no previous".into());
                }
                (lengths[i - 1], 3 + reader.bits(2)? as usize)
            }
            17 => (0, 3 + reader.bits(3)? as usize),
            _ => (0, 11 + reader.bits(7)? as usize),
        };
        if i + repeat > lengths.len() {
            return Err("a run of code lengths goes past the declared number of codes".into());
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    if lengths[256] == 0 {
        return Err("the block's literal code has no end-of-block symbol (256)".into());
    }
    let literal = Huffman::new(&lengths[..literal_count])?;
    let distance = Huffman::new(&lengths[literal_count..])?;
    Ok((literal, distance))
}

/// Decodes one Huffman-coded block, appending to `out` (never beyond `max_output` bytes).
fn decode_block(
    reader: &mut BitReader,
    literal: &Huffman,
    distance: &Huffman,
    out: &mut Vec<u8>,
    max_output: usize,
) -> Result<(), InflateError> {
    let too_long =
        || format!("the data decompress to more than the {max_output} bytes the image needs");
    loop {
        let symbol = literal.decode(reader)?;
        match symbol {
            0..=255 => {
                if out.len() >= max_output {
                    return Err(too_long());
                }
                out.push(symbol as u8);
            }
            256 => return Ok(()),
            257..=285 => {
                let index = usize::from(symbol - 257);
                let length = usize::from(LENGTH_BASE[index])
                    + reader.bits(u32::from(LENGTH_EXTRA[index]))? as usize;
                let code = usize::from(distance.decode(reader)?);
                if code >= 30 {
                    return Err(format!("distance code {code} is not defined (0–29 are)"));
                }
                let back = usize::from(DISTANCE_BASE[code])
                    + reader.bits(u32::from(DISTANCE_EXTRA[code]))? as usize;
                if back > out.len() {
                    return Err(format!(
                        "a back-reference {back} bytes back, with only {} bytes decoded",
                        out.len()
                    ));
                }
                if out.len() + length > max_output {
                    return Err(too_long());
                }
                // Byte by byte: the source may overlap what is being written (a run).
                let start = out.len() - back;
                for k in 0..length {
                    out.push(out[start + k]);
                }
            }
            _ => {
                return Err(format!(
                    "length symbol {symbol} is not defined (257–285 are)"
                ));
            }
        }
    }
}

/// Decompresses raw DEFLATE data; returns the output and how many input bytes it used.
pub fn inflate(data: &[u8], max_output: usize) -> Result<(Vec<u8>, usize), InflateError> {
    let mut reader = BitReader::new(data);
    // Room for what the caller expects, grown only by decoding (bounded by `max_output`).
    let mut out = Vec::with_capacity(max_output.min(1 << 24));
    let mut fixed: Option<(Huffman, Huffman)> = None;
    loop {
        let last = reader.bits(1)? == 1;
        match reader.bits(2)? {
            0 => {
                reader.align_to_byte();
                let header = reader.bytes(4)?;
                let length = u16::from_le_bytes([header[0], header[1]]);
                let complement = u16::from_le_bytes([header[2], header[3]]);
                if length != !complement {
                    return Err(format!(
                        "a stored block's length {length} does not match its complement {complement}"
                    ));
                }
                if out.len() + usize::from(length) > max_output {
                    return Err(format!(
                        "the data decompress to more than the {max_output} bytes the image needs"
                    ));
                }
                out.extend_from_slice(reader.bytes(usize::from(length))?);
            }
            1 => {
                let (literal, distance) = fixed.get_or_insert_with(fixed_codes);
                decode_block(&mut reader, literal, distance, &mut out, max_output)?;
            }
            2 => {
                let (literal, distance) = dynamic_codes(&mut reader)?;
                decode_block(&mut reader, &literal, &distance, &mut out, max_output)?;
            }
            _ => return Err("a block of type 3, which DEFLATE reserves (corrupt data)".into()),
        }
        if last {
            reader.align_to_byte();
            return Ok((out, reader.byte_position()));
        }
    }
}

/// Decompresses a zlib stream: checks the header, inflates, checks the Adler-32 checksum.
pub fn zlib_decompress(data: &[u8], max_output: usize) -> Result<Vec<u8>, InflateError> {
    let [cmf, flg, ..] = *data else {
        return Err("the zlib stream is shorter than its 2-byte header".into());
    };
    if cmf & 0x0F != 8 || cmf >> 4 > 7 {
        return Err(format!(
            "the zlib header says compression method {} with window 2^{} (PNG uses DEFLATE, 8, \
             with at most 2^15)",
            cmf & 0x0F,
            (cmf >> 4) + 8
        ));
    }
    if (u16::from(cmf) * 256 + u16::from(flg)) % 31 != 0 {
        return Err("the zlib header's check bits are wrong (corrupt data)".into());
    }
    if flg & 0x20 != 0 {
        return Err("the zlib stream asks for a preset dictionary, which PNG forbids".into());
    }
    let (out, used) = inflate(&data[2..], max_output)?;
    let rest = &data[2 + used..];
    let Some(stored) = rest.first_chunk::<4>() else {
        return Err("the zlib stream ends before its Adler-32 checksum (truncated?)".into());
    };
    let stored = u32::from_be_bytes(*stored);
    let computed = adler32(&out);
    if stored != computed {
        return Err(format!(
            "Adler-32 checksum mismatch: stored {stored:08x}, computed {computed:08x} (corrupt data)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_huffman_block_by_hand() {
        // zlib.compress(b"abc") from Python: a fixed-code block.
        let data = [
            0x78, 0x9c, 0x4b, 0x4c, 0x4a, 0x06, 0x00, 0x02, 0x4d, 0x01, 0x27,
        ];
        assert_eq!(zlib_decompress(&data, 100).unwrap(), b"abc");
        assert!(zlib_decompress(&data, 2).unwrap_err().contains("more than"));
    }

    #[test]
    fn over_subscribed_codes_are_refused() {
        assert!(Huffman::new(&[1, 1, 1]).is_err());
        assert!(Huffman::new(&[0, 0]).is_err());
        assert!(Huffman::new(&[1, 2, 2]).is_ok());
    }
}
