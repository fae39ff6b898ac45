//! The CURVE mechanism (RFC 25 on RFC 26, CurveZMQ), byte-compatible with libzmq 4.3.
//!
//! Client: HELLO → (WELCOME) → INITIATE → (READY). Server: (HELLO) → WELCOME →
//! (INITIATE) → ZAP → READY or ERROR. Every frame after the handshake is a MESSAGE whose
//! box holds a flags byte and the frame body. Keys: C/c and S/s are the long-term keys,
//! C'/c' and S'/s' the per-connection (transient) keys.
//!
//! What must hold: every length is checked before anything is sliced (HELLO exactly 200
//! bytes, WELCOME exactly 168, INITIATE at least 257, READY at least 30, MESSAGE at least
//! 33) and no input panics; each command is accepted only in its turn; a server asks ZAP
//! only after the cookie, the INITIATE box and the vouch (naming our C' and S, compared in
//! constant time) have all checked out; every short nonce received is strictly greater
//! than the previous one from that peer (replays and reorders are refused), and a nonce is
//! recorded only once its box has opened; our short nonces count up from 1; no key
//! material is ever logged or shown by `Debug`, and secrets are wiped on drop.
//!
//! # libzmq's wire behaviour after the handshake (what this file reproduces)
//!
//! Read from libzmq 4.3.4/4.3.5, `src/curve_mechanism_base.cpp`
//! (`curve_encoding_t::encode` and `decode`), `src/v3_1_encoder.cpp`
//! (`message_ready`), `src/msg.cpp` (`msg_t::move`) and `src/stream_engine_base.cpp`
//! (`pull_and_encode`, `decode_and_push`):
//!
//! * The MESSAGE plaintext is one flags byte, then the frame body. Flags bit 0 is MORE and
//!   bit 1 is COMMAND (libzmq's `msg_t::more | msg_t::command`; RFC 26 calls bits 1-7
//!   reserved); other bits are masked off on both sides.
//! * A command travels boxed, its whole body in the plaintext: flags `0x02` then the name
//!   length, the name and the data (PING: `\x04PING` + TTL + context; PONG likewise).
//!   SUBSCRIBE and CANCEL are the same: libzmq builds them from a topic-only message and
//!   writes `\x09SUBSCRIBE` / `\x06CANCEL` between the flags byte and the topic, setting
//!   COMMAND. So the plaintext is `0x02 0x09 "SUBSCRIBE" topic`. (To a ZMTP 3.0 peer, libzmq
//!   instead sends the legacy form: flags `0x00`, then `0x01`/`0x00` and the topic.)
//!   [`Cipher::encode`] therefore takes the whole command body for a command.
//! * The wire frame carrying a MESSAGE has neither MORE nor COMMAND set: the mechanism
//!   replaces the message with a freshly allocated one (`msg_t::move` copies its flags,
//!   which are 0), and the encoder derives the frame flags from it. LONG is set iff the
//!   body is over 255 bytes. On receipt libzmq hands every frame to the mechanism whatever
//!   its flags, checking only the `\x07MESSAGE` prefix; [`Cipher::decode`] likewise never
//!   sees (or needs) the frame flags.
//! * Short nonces: both sides start at 1 and count every command they box (client: HELLO
//!   1, INITIATE 2, first MESSAGE 3; server: READY 1, first MESSAGE 2). libzmq refuses a
//!   MESSAGE whose nonce is not above the last one received, counting the READY or
//!   INITIATE nonce.
//! * The MESSAGE box uses the key precomputed from C' and S' (`crypto_box_beforenm`).

use super::command;
use super::frame::{encode_header, FLAG_COMMAND};
use super::mechanism::{
    deny, split_command, Cipher, Credentials, Handshake, Progress, Properties, Verdict,
    MSG_COMMAND, MSG_MORE,
};
use super::OutBuf;
use crate::curve_key::CurveKeyPair;
use crate::ProtocolError;
use bytes::{Bytes, BytesMut};
use crypto_box::aead::consts::{U16, U24};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::{AeadInPlace, KeyInit};
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::XSalsa20Poly1305;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A Curve25519 key.
const KEY: usize = 32;
/// A Poly1305 tag, which leads every box.
const TAG: usize = 16;
/// The exact size of a HELLO body.
const HELLO_LEN: usize = 200;
/// The exact size of a WELCOME body.
const WELCOME_LEN: usize = 168;
/// The smallest INITIATE body (no metadata).
const INITIATE_MIN: usize = 257;
/// The smallest READY body (no metadata).
const READY_MIN: usize = 30;
/// The smallest MESSAGE body (an empty frame: flags byte only).
const MESSAGE_MIN: usize = 33;
/// `\x07MESSAGE` and the short nonce: what precedes a MESSAGE box.
const MESSAGE_HEAD: usize = 16;
/// A MESSAGE body starts with this.
const MESSAGE_NAME: &[u8; 8] = b"\x07MESSAGE";
/// The flags a MESSAGE plaintext carries; any other bit is ignored.
const MSG_FLAGS: u8 = MSG_MORE | MSG_COMMAND;

const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
const WELCOME_PREFIX: &[u8; 8] = b"WELCOME-";
const COOKIE_PREFIX: &[u8; 8] = b"COOKIE--";
const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
const VOUCH_PREFIX: &[u8; 8] = b"VOUCH---";
const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
const MESSAGE_FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const MESSAGE_FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// Which side of the CURVE handshake we are.
#[derive(Debug, Clone)]
pub(crate) enum CurveRole {
    /// A client of the server whose long-term public key this is.
    Client { server_key: [u8; 32] },
    /// A server.
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: HELLO not sent yet.
    Start,
    /// Client: HELLO sent, waiting for WELCOME.
    AwaitWelcome,
    /// Client: INITIATE sent, waiting for READY.
    AwaitReady,
    /// Server: waiting for HELLO.
    AwaitHello,
    /// Server: WELCOME sent, waiting for INITIATE.
    AwaitInitiate,
    /// Server: ZAP asked, waiting for its verdict.
    AwaitVerdict,
    /// The handshake is done: frames are boxed.
    Ready,
    /// The handshake failed; nothing more is accepted.
    Failed,
}

/// One connection's CURVE state.
pub(crate) struct Curve {
    role: CurveRole,
    state: State,
    /// Our long-term public key (C or S).
    public: [u8; KEY],
    /// Our long-term secret key (c or s); wiped on drop.
    secret: SecretKey,
    /// Our metadata (encoded properties), sent in INITIATE or READY.
    metadata: Bytes,
    /// Our transient secret key (c' or s'), from HELLO until the session key exists
    /// (client) or INITIATE is checked (server).
    transient: Option<SecretKey>,
    /// The peer's transient public key (S' on a client, C' on a server).
    peer_transient: [u8; KEY],
    /// Client: the C'-S box of HELLO, kept to open WELCOME.
    hello_box: Option<SalsaBox>,
    /// Server: the key of this connection's cookie.
    cookie_key: Zeroizing<[u8; KEY]>,
    /// The C'-S' box of INITIATE, READY and every MESSAGE (precomputed once).
    session: Option<SalsaBox>,
    /// The short nonce of our next boxed command.
    send_nonce: u64,
    /// The last short nonce received (0 before any).
    recv_nonce: u64,
    /// Server: the client's INITIATE metadata, held while ZAP decides.
    peer_properties: Properties,
}

impl std::fmt::Debug for Curve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curve")
            .field("role", &self.role)
            .field("state", &self.state)
            .field(
                "public",
                &crate::z85::encode(&self.public).unwrap_or_default(),
            )
            .field("send_nonce", &self.send_nonce)
            .field("recv_nonce", &self.recv_nonce)
            .finish_non_exhaustive()
    }
}

impl Curve {
    /// A mechanism with our long-term `keys`, in `role`, sending `metadata` (encoded
    /// properties) in its INITIATE or READY.
    pub(crate) fn new(keys: CurveKeyPair, role: CurveRole, metadata: Bytes) -> Curve {
        let state = match role {
            CurveRole::Client { .. } => State::Start,
            CurveRole::Server => State::AwaitHello,
        };
        Curve {
            role,
            state,
            public: *keys.public_key(),
            secret: SecretKey::from_bytes(*keys.secret_bytes()),
            metadata,
            transient: None,
            peer_transient: [0; KEY],
            hello_box: None,
            cookie_key: Zeroizing::new([0; KEY]),
            session: None,
            send_nonce: 1,
            recv_nonce: 0,
            peer_properties: Vec::new(),
        }
    }

    /// Whether we are the server.
    pub(crate) fn is_server(&self) -> bool {
        matches!(self.role, CurveRole::Server)
    }

    /// Takes the short nonce for our next boxed command.
    fn next_nonce(&mut self) -> u64 {
        let nonce = self.send_nonce;
        self.send_nonce = nonce.saturating_add(1);
        nonce
    }

    /// Refuses a short nonce that is not above the last one received.
    fn check_nonce(&self, nonce: u64) -> Result<(), ProtocolError> {
        if nonce <= self.recv_nonce {
            return Err(ProtocolError::Security(
                "CURVE short nonce not above the previous one (replayed or reordered)",
            ));
        }
        Ok(())
    }

    /// The session box, which exists from WELCOME (client) or INITIATE (server) on.
    fn session(&self) -> Result<&SalsaBox, ProtocolError> {
        self.session
            .as_ref()
            .ok_or(ProtocolError::Security("CURVE session key missing"))
    }

    /// Client: writes HELLO.
    fn send_hello(&mut self, server_key: [u8; KEY], out: &mut OutBuf) -> Result<(), ProtocolError> {
        let transient = transient_key()?;
        let hello_box = SalsaBox::new(&PublicKey::from(server_key), &transient);
        let nonce = self.next_nonce();
        let mut hello = [0u8; HELLO_LEN];
        hello[..6].copy_from_slice(b"\x05HELLO");
        hello[6..8].copy_from_slice(&[1, 0]);
        // 8..80: anti-amplification padding, zeros.
        hello[80..112].copy_from_slice(transient.public_key().as_bytes());
        hello[112..120].copy_from_slice(&nonce.to_be_bytes());
        seal(
            &hello_box,
            &short_nonce(HELLO_PREFIX, nonce),
            &[0u8; 64],
            &mut hello[120..],
        );
        put_command(&hello, out);
        self.transient = Some(transient);
        self.hello_box = Some(hello_box);
        self.state = State::AwaitWelcome;
        Ok(())
    }

    /// Client: opens WELCOME with the server key we were given, writes INITIATE.
    fn on_welcome(&mut self, body: &[u8], out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        if body.len() != WELCOME_LEN {
            return Err(ProtocolError::Malformed("CURVE WELCOME (size)"));
        }
        let CurveRole::Client { server_key } = self.role else {
            return Err(ProtocolError::Security("CURVE WELCOME to a server"));
        };
        let (Some(hello_box), Some(transient)) = (&self.hello_box, &self.transient) else {
            return Err(ProtocolError::Security("CURVE WELCOME before HELLO"));
        };
        let mut welcome = Zeroizing::new([0u8; TAG + 128]);
        welcome.copy_from_slice(&body[24..]);
        open(
            hello_box,
            &long_nonce(WELCOME_PREFIX, &body[8..24]),
            &mut welcome[..],
            "CURVE WELCOME does not open (wrong server key?)",
        )?;
        let plain = &welcome[TAG..];
        let server_transient = key_at(plain, 0);
        let cookie = &plain[32..128];
        let session = SalsaBox::new(&PublicKey::from(server_transient), transient);

        // The vouch: Box[C' + S](C->S'), proving we hold c for this connection.
        let mut vouch_nonce = [0u8; 16];
        fill_random(&mut vouch_nonce)?;
        let mut vouch_plain = [0u8; 64];
        vouch_plain[..32].copy_from_slice(transient.public_key().as_bytes());
        vouch_plain[32..].copy_from_slice(&server_key);
        let mut vouch = [0u8; TAG + 64];
        seal(
            &SalsaBox::new(&PublicKey::from(server_transient), &self.secret),
            &long_nonce(VOUCH_PREFIX, &vouch_nonce),
            &vouch_plain,
            &mut vouch,
        );

        let nonce = self.send_nonce;
        put_boxed(
            out,
            FLAG_COMMAND,
            &[b"\x08INITIATE", cookie, &nonce.to_be_bytes()],
            &session,
            &short_nonce(INITIATE_PREFIX, nonce),
            &[&self.public, &vouch_nonce, &vouch, &self.metadata],
        );
        self.next_nonce();
        // c' and the C'-S box are no longer needed: dropping them wipes them.
        self.transient = None;
        self.hello_box = None;
        self.peer_transient = server_transient;
        self.session = Some(session);
        self.state = State::AwaitReady;
        Ok(Progress::Continue)
    }

    /// Client: opens READY; the handshake is done.
    fn on_ready(&mut self, body: &[u8]) -> Result<Progress, ProtocolError> {
        if body.len() < READY_MIN {
            return Err(ProtocolError::Malformed("CURVE READY (size)"));
        }
        let nonce = u64_at(body, 6);
        self.check_nonce(nonce)?;
        let mut boxed = BytesMut::from(&body[14..]);
        open(
            self.session()?,
            &short_nonce(READY_PREFIX, nonce),
            &mut boxed,
            "CURVE READY does not open",
        )?;
        self.recv_nonce = nonce;
        let properties = command::parse_properties(&boxed.freeze().slice(TAG..))?;
        self.state = State::Ready;
        Ok(Progress::Done(properties))
    }

    /// Server: opens HELLO with our secret key, writes WELCOME.
    fn on_hello(&mut self, body: &[u8], out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        if body.len() != HELLO_LEN {
            return Err(ProtocolError::Malformed("CURVE HELLO (size)"));
        }
        if body[6..8] != [1, 0] {
            return Err(ProtocolError::Malformed("CURVE HELLO (version is not 1.0)"));
        }
        let client_transient = key_at(body, 80);
        let nonce = u64_at(body, 112);
        self.check_nonce(nonce)?;
        let hello_box = SalsaBox::new(&PublicKey::from(client_transient), &self.secret);
        let mut signature = [0u8; TAG + 64];
        signature.copy_from_slice(&body[120..]);
        open(
            &hello_box,
            &short_nonce(HELLO_PREFIX, nonce),
            &mut signature,
            "CURVE HELLO does not open (the client has another server key)",
        )?;
        self.recv_nonce = nonce;
        self.peer_transient = client_transient;

        let transient = transient_key()?;
        fill_random(&mut self.cookie_key[..])?;
        // The cookie: Box[C' + s'](t), which the client hands back in INITIATE.
        let mut cookie_nonce = [0u8; 16];
        fill_random(&mut cookie_nonce)?;
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(&client_transient);
        cookie_plain[32..].copy_from_slice(&transient.to_bytes());
        // WELCOME's plaintext: S' + cookie nonce + cookie box.
        let mut welcome_plain = Zeroizing::new([0u8; 128]);
        welcome_plain[..32].copy_from_slice(transient.public_key().as_bytes());
        welcome_plain[32..48].copy_from_slice(&cookie_nonce);
        seal(
            &cookie_box(&self.cookie_key),
            &long_nonce(COOKIE_PREFIX, &cookie_nonce),
            &cookie_plain[..],
            &mut welcome_plain[48..],
        );
        let mut welcome_nonce = [0u8; 16];
        fill_random(&mut welcome_nonce)?;
        let mut welcome = [0u8; WELCOME_LEN];
        welcome[..8].copy_from_slice(b"\x07WELCOME");
        welcome[8..24].copy_from_slice(&welcome_nonce);
        seal(
            &hello_box,
            &long_nonce(WELCOME_PREFIX, &welcome_nonce),
            &welcome_plain[..],
            &mut welcome[24..],
        );
        put_command(&welcome, out);
        self.transient = Some(transient);
        self.state = State::AwaitInitiate;
        Ok(Progress::Continue)
    }

    /// Server: checks INITIATE (cookie, box, vouch) and asks ZAP about the client's key.
    fn on_initiate(&mut self, body: &[u8]) -> Result<Progress, ProtocolError> {
        if body.len() < INITIATE_MIN {
            return Err(ProtocolError::Malformed("CURVE INITIATE (size)"));
        }
        let Some(transient) = &self.transient else {
            return Err(ProtocolError::Security("CURVE INITIATE before HELLO"));
        };
        let mut cookie = Zeroizing::new([0u8; TAG + 64]);
        cookie.copy_from_slice(&body[25..105]);
        open(
            &cookie_box(&self.cookie_key),
            &long_nonce(COOKIE_PREFIX, &body[9..25]),
            &mut cookie[..],
            "CURVE INITIATE cookie does not open",
        )?;
        let ours = cookie[TAG..TAG + 32].ct_eq(&self.peer_transient)
            & cookie[TAG + 32..].ct_eq(&transient.to_bytes());
        if !bool::from(ours) {
            return Err(ProtocolError::Security("CURVE INITIATE cookie is not ours"));
        }

        let nonce = u64_at(body, 105);
        self.check_nonce(nonce)?;
        let session = SalsaBox::new(&PublicKey::from(self.peer_transient), transient);
        let mut boxed = BytesMut::from(&body[113..]);
        open(
            &session,
            &short_nonce(INITIATE_PREFIX, nonce),
            &mut boxed,
            "CURVE INITIATE does not open",
        )?;
        let plain = boxed.freeze().slice(TAG..);
        // The plaintext: C, then the vouch's nonce and box, then the metadata.
        let client_key = key_at(&plain, 0);
        let mut vouch = [0u8; TAG + 64];
        vouch.copy_from_slice(&plain[48..128]);
        open(
            &SalsaBox::new(&PublicKey::from(client_key), transient),
            &long_nonce(VOUCH_PREFIX, &plain[32..48]),
            &mut vouch,
            "CURVE INITIATE vouch does not open",
        )?;
        let vouched = vouch[TAG..TAG + 32].ct_eq(&self.peer_transient)
            & vouch[TAG + 32..].ct_eq(&self.public);
        if !bool::from(vouched) {
            return Err(ProtocolError::Security(
                "CURVE INITIATE vouch names other keys",
            ));
        }
        let properties = command::parse_properties(&plain.slice(128..))?;
        self.recv_nonce = nonce;
        self.session = Some(session);
        // s' and the cookie key are no longer needed: dropping them wipes them.
        self.transient = None;
        self.cookie_key = Zeroizing::new([0; KEY]);
        self.peer_properties = properties;
        self.state = State::AwaitVerdict;
        Ok(Progress::Authenticate(Credentials::Curve {
            public_key: client_key,
        }))
    }

    /// Server: ZAP admitted the client; writes READY.
    fn send_ready(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        let nonce = self.next_nonce();
        put_boxed(
            out,
            FLAG_COMMAND,
            &[b"\x05READY", &nonce.to_be_bytes()],
            self.session()?,
            &short_nonce(READY_PREFIX, nonce),
            &[&self.metadata],
        );
        self.state = State::Ready;
        Ok(Progress::Done(std::mem::take(&mut self.peer_properties)))
    }

    /// The nonce prefixes of the MESSAGEs we send and those we receive.
    fn message_prefixes(&self) -> (&'static [u8; 16], &'static [u8; 16]) {
        if self.is_server() {
            (MESSAGE_FROM_SERVER, MESSAGE_FROM_CLIENT)
        } else {
            (MESSAGE_FROM_CLIENT, MESSAGE_FROM_SERVER)
        }
    }
}

impl Handshake for Curve {
    fn start(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        match (self.state, &self.role) {
            (State::Start, &CurveRole::Client { server_key }) => {
                let sent = self.send_hello(server_key, out);
                if sent.is_err() {
                    self.state = State::Failed;
                }
                sent.map(|()| Progress::Continue)
            }
            (State::AwaitHello, CurveRole::Server) => Ok(Progress::Continue),
            _ => Err(ProtocolError::Security("CURVE handshake started twice")),
        }
    }

    fn on_command(&mut self, body: Bytes, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        let step = split_command(&body).and_then(|(name, _)| match (self.state, name) {
            (State::AwaitWelcome, b"WELCOME") => self.on_welcome(&body, out),
            (State::AwaitReady, b"READY") => self.on_ready(&body),
            (State::AwaitHello, b"HELLO") => self.on_hello(&body, out),
            (State::AwaitInitiate, b"INITIATE") => self.on_initiate(&body),
            (_, name) => Err(ProtocolError::UnexpectedCommand(
                String::from_utf8_lossy(name).into_owned(),
            )),
        });
        if step.is_err() {
            self.state = State::Failed;
        }
        step
    }

    fn on_verdict(
        &mut self,
        verdict: &Verdict,
        out: &mut OutBuf,
    ) -> Result<Progress, ProtocolError> {
        if self.state != State::AwaitVerdict {
            return Err(ProtocolError::Security("ZAP reply out of turn"));
        }
        match verdict {
            Verdict::Deny { status, .. } => {
                self.state = State::Failed;
                Err(deny(*status, out))
            }
            Verdict::Allow { .. } => self.send_ready(out),
        }
    }
}

impl Cipher for Curve {
    /// Writes a MESSAGE frame (no MORE, no COMMAND, LONG iff over 255 bytes, as libzmq),
    /// boxing the flags byte and `payload` in place in `out`. Before the handshake is done,
    /// or once 2^64 - 1 nonces are used up, nothing is written (a caller bug, and a
    /// connection of 2^64 frames, respectively: never reused nonces).
    fn encode(&mut self, flags: u8, payload: &[u8], out: &mut OutBuf) {
        if self.state != State::Ready || self.send_nonce == u64::MAX {
            return;
        }
        let nonce = self.next_nonce();
        let (ours, _) = self.message_prefixes();
        let Some(session) = self.session.as_ref() else {
            return;
        };
        put_boxed(
            out,
            0,
            &[MESSAGE_NAME, &nonce.to_be_bytes()],
            session,
            &short_nonce(ours, nonce),
            &[&[flags & MSG_FLAGS], payload],
        );
    }

    /// Opens a MESSAGE in place: returns its flags (MORE, COMMAND) and the frame body, a
    /// slice of `body`.
    fn decode(&mut self, mut body: BytesMut) -> Result<(u8, Bytes), ProtocolError> {
        if self.state != State::Ready {
            return Err(ProtocolError::Security(
                "CURVE MESSAGE before the handshake finished",
            ));
        }
        if !body.starts_with(MESSAGE_NAME) {
            return Err(ProtocolError::Security(
                "frame after the CURVE handshake is not a MESSAGE",
            ));
        }
        if body.len() < MESSAGE_MIN {
            return Err(ProtocolError::Malformed("CURVE MESSAGE (size)"));
        }
        let nonce = u64_at(&body, 8);
        self.check_nonce(nonce)?;
        let (_, theirs) = self.message_prefixes();
        open(
            self.session()?,
            &short_nonce(theirs, nonce),
            &mut body[MESSAGE_HEAD..],
            "CURVE MESSAGE does not open (corrupted or forged)",
        )?;
        self.recv_nonce = nonce;
        let flags = body[MESSAGE_HEAD + TAG] & MSG_FLAGS;
        Ok((flags, body.freeze().slice(MESSAGE_HEAD + TAG + 1..)))
    }
}

/// What boxes and opens: NaCl's `crypto_box` (after key agreement) and `crypto_secretbox`,
/// both XSalsa20-Poly1305 with a 24-byte nonce and a 16-byte tag.
trait Boxer: AeadInPlace<NonceSize = U24, TagSize = U16> {}
impl<T: AeadInPlace<NonceSize = U24, TagSize = U16>> Boxer for T {}

/// The 24-byte nonce of a short-nonce box: a 16-byte prefix and a big-endian counter.
fn short_nonce(prefix: &[u8; 16], counter: u64) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// The 24-byte nonce of a long-nonce box: an 8-byte prefix and 16 bytes from the wire.
fn long_nonce(prefix: &[u8; 8], rest: &[u8]) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&rest[..16]);
    nonce
}

/// The secretbox of a server's cookies.
fn cookie_box(key: &[u8; KEY]) -> XSalsa20Poly1305 {
    XSalsa20Poly1305::new(GenericArray::from_slice(key))
}

/// Boxes `plain` into `out` (which is `TAG` bytes longer): tag, then ciphertext, the
/// layout of NaCl's `crypto_box` without its zero padding (libsodium's `_easy` form).
fn seal(cipher: &impl Boxer, nonce: &Nonce, plain: &[u8], out: &mut [u8]) {
    let (tag, body) = out.split_at_mut(TAG);
    body.copy_from_slice(plain);
    seal_in_place(cipher, nonce, tag, body);
}

/// Encrypts `body` in place and writes its tag. Encryption fails only when given
/// associated data, which is never: were it to fail, the tag stays zero and the peer
/// refuses the box.
fn seal_in_place(cipher: &impl Boxer, nonce: &Nonce, tag: &mut [u8], body: &mut [u8]) {
    if let Ok(computed) = cipher.encrypt_in_place_detached(nonce, b"", body) {
        tag.copy_from_slice(&computed);
    }
}

/// Opens a box (tag, then ciphertext) in place: on success `boxed[TAG..]` is the
/// plaintext. Fails with `what` if the box is short or does not authenticate.
fn open(
    cipher: &impl Boxer,
    nonce: &Nonce,
    boxed: &mut [u8],
    what: &'static str,
) -> Result<(), ProtocolError> {
    if boxed.len() < TAG {
        return Err(ProtocolError::Malformed("CURVE box shorter than its tag"));
    }
    let (tag, body) = boxed.split_at_mut(TAG);
    let tag = GenericArray::clone_from_slice(tag);
    cipher
        .decrypt_in_place_detached(nonce, b"", body, &tag)
        .map_err(|_| ProtocolError::Security(what))
}

/// Writes one frame (flags `frame_flags`) whose body is the concatenation of `head` and
/// then a box of the concatenation of `plain`, sealed in place in `out`'s buffer.
fn put_boxed(
    out: &mut OutBuf,
    frame_flags: u8,
    head: &[&[u8]],
    cipher: &SalsaBox,
    nonce: &Nonce,
    plain: &[&[u8]],
) {
    let head_len: usize = head.iter().map(|p| p.len()).sum();
    let plain_len: usize = plain.iter().map(|p| p.len()).sum();
    let size = head_len + TAG + plain_len;
    encode_header(frame_flags, size, out);
    out.put_with(size, |buf| {
        let (head_buf, boxed) = buf.split_at_mut(head_len);
        concat_into(head_buf, head);
        let (tag, body) = boxed.split_at_mut(TAG);
        concat_into(body, plain);
        seal_in_place(cipher, nonce, tag, body);
    });
}

/// Copies `parts` one after another into `dst`, which is exactly as long as they are.
fn concat_into(dst: &mut [u8], parts: &[&[u8]]) {
    let mut at = 0;
    for part in parts {
        dst[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
}

/// Writes a whole handshake command frame.
fn put_command(body: &[u8], out: &mut OutBuf) {
    encode_header(FLAG_COMMAND, body.len(), out);
    out.put_slice(body);
}

/// The 32-byte key at `at` in `data` (whose length the caller has checked).
fn key_at(data: &[u8], at: usize) -> [u8; KEY] {
    let mut key = [0u8; KEY];
    key.copy_from_slice(&data[at..at + KEY]);
    key
}

/// The big-endian u64 at `at` in `data` (whose length the caller has checked).
fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut be = [0u8; 8];
    be.copy_from_slice(&data[at..at + 8]);
    u64::from_be_bytes(be)
}

/// Fills `buf` from the OS random source.
fn fill_random(buf: &mut [u8]) -> Result<(), ProtocolError> {
    getrandom::getrandom(buf).map_err(|_| ProtocolError::Security("the OS random source failed"))
}

/// A fresh transient secret key.
fn transient_key() -> Result<SecretKey, ProtocolError> {
    let mut bytes = Zeroizing::new([0u8; KEY]);
    fill_random(&mut bytes[..])?;
    Ok(SecretKey::from_bytes(*bytes))
}

/// The fuzzing driver, beside the mechanism so that it reaches its private parts.
#[cfg(any(test, feature = "fuzzing"))]
#[path = "curve_fuzz.rs"]
mod fuzz;
#[cfg(any(test, feature = "fuzzing"))]
#[allow(unused_imports)] // Used by crate::fuzzing (feature) and the unit tests.
pub(crate) use fuzz::fuzz_handshake;

#[cfg(test)]
#[path = "curve_tests.rs"]
mod tests;
