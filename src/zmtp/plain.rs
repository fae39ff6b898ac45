//! The PLAIN mechanism (RFC 24): a client sends its user name and password in clear text,
//! a server asks ZAP about them. Client: HELLO → (WELCOME) → INITIATE → (READY). Server:
//! (HELLO) → ZAP → WELCOME or ERROR → (INITIATE) → READY.
//!
//! What must hold: a HELLO whose lengths do not fill its body exactly is refused before
//! anything is copied; the server writes WELCOME only after an `Allow`; each command is
//! accepted only in its turn; the password never appears in `Debug` output or logs.

use super::frame::{encode_header, FLAG_COMMAND};
use super::mechanism::{split_command, Credentials, Handshake, Progress, Verdict};
use super::{command, OutBuf};
use crate::ProtocolError;
use bytes::Bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: HELLO sent, waiting for WELCOME.
    AwaitWelcome,
    /// Client: INITIATE sent, waiting for READY.
    AwaitReady,
    /// Server: waiting for HELLO.
    AwaitHello,
    /// Server: ZAP asked, waiting for its verdict.
    AwaitVerdict,
    /// Server: WELCOME sent, waiting for INITIATE.
    AwaitInitiate,
    /// The handshake is over (or failed).
    Done,
}

/// One connection's PLAIN handshake.
pub(crate) struct Plain {
    state: State,
    server: bool,
    /// Our metadata (encoded properties), sent in INITIATE or READY.
    metadata: Bytes,
    /// Client: the credentials to send.
    username: Bytes,
    password: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plain")
            .field("state", &self.state)
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Plain {
    /// A client that logs in as `username` with `password` (each at most 255 bytes: the
    /// option setters refuse longer ones).
    pub(crate) fn client(metadata: Bytes, username: Bytes, password: &[u8]) -> Plain {
        Plain {
            state: State::AwaitWelcome,
            server: false,
            metadata,
            username,
            password: zeroize::Zeroizing::new(password.to_vec()),
        }
    }

    /// A server.
    pub(crate) fn server(metadata: Bytes) -> Plain {
        Plain {
            state: State::AwaitHello,
            server: true,
            metadata,
            username: Bytes::new(),
            password: zeroize::Zeroizing::new(Vec::new()),
        }
    }

    /// Whether we are the server.
    pub(crate) fn is_server(&self) -> bool {
        self.server
    }
}

/// Parses a HELLO body: u8 length + user name, u8 length + password, nothing after.
fn parse_hello(data: &Bytes) -> Result<(Bytes, Bytes), ProtocolError> {
    const BAD: ProtocolError = ProtocolError::Malformed("PLAIN HELLO");
    let user_len = usize::from(*data.first().ok_or(BAD)?);
    let user_end = 1 + user_len;
    let pass_len = usize::from(*data.get(user_end).ok_or(BAD)?);
    let pass_end = user_end + 1 + pass_len;
    if pass_end != data.len() {
        return Err(BAD);
    }
    Ok((data.slice(1..user_end), data.slice(user_end + 1..pass_end)))
}

/// Refuses a client with ZAP status `status` the way libzmq's PLAIN server does, so that a
/// libzmq client reports an authentication failure: an ERROR spelled as libzmq spells it
/// (see `command::LIBZMQ_PLAIN_ERROR`; ferrozmq reads both spellings), none for status 300.
fn deny_like_libzmq(status: u16, out: &mut OutBuf) -> ProtocolError {
    if status != 300 {
        let code = status.to_string();
        let code = &code.as_bytes()[..code.len().min(255)];
        let prefix = command::LIBZMQ_PLAIN_ERROR;
        encode_header(FLAG_COMMAND, prefix.len() + 1 + code.len(), out);
        out.put_slice(prefix);
        out.put_slice(&[code.len() as u8]);
        out.put_slice(code);
    }
    ProtocolError::AuthFailed { status }
}

impl Handshake for Plain {
    fn start(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        if self.state == State::AwaitWelcome {
            let user = &self.username[..self.username.len().min(255)];
            let pass = &self.password[..self.password.len().min(255)];
            command::encode_command(
                "HELLO",
                &[&[user.len() as u8], user, &[pass.len() as u8], pass],
                out,
            );
        }
        Ok(Progress::Continue)
    }

    fn on_command(&mut self, body: Bytes, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        let (name, data) = split_command(&body)?;
        match (self.state, name) {
            (State::AwaitWelcome, b"WELCOME") => {
                if !data.is_empty() {
                    return Err(ProtocolError::Malformed("PLAIN WELCOME"));
                }
                command::encode_command("INITIATE", &[&self.metadata], out);
                self.state = State::AwaitReady;
                Ok(Progress::Continue)
            }
            (State::AwaitReady, b"READY") => {
                let props = command::parse_properties(&data)?;
                self.state = State::Done;
                Ok(Progress::Done(props))
            }
            (State::AwaitHello, b"HELLO") => {
                let (username, password) = parse_hello(&data)?;
                self.state = State::AwaitVerdict;
                Ok(Progress::Authenticate(Credentials::Plain {
                    username,
                    password,
                }))
            }
            (State::AwaitInitiate, b"INITIATE") => {
                let props = command::parse_properties(&data)?;
                command::encode_command("READY", &[&self.metadata], out);
                self.state = State::Done;
                Ok(Progress::Done(props))
            }
            (_, name) => Err(ProtocolError::UnexpectedCommand(
                String::from_utf8_lossy(name).into_owned(),
            )),
        }
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
                self.state = State::Done;
                Err(deny_like_libzmq(*status, out))
            }
            Verdict::Allow { .. } => {
                command::encode_command("WELCOME", &[], out);
                self.state = State::AwaitInitiate;
                Ok(Progress::Continue)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::command::tests::body_of;
    use super::super::outbuf::tests::drain;
    use super::*;

    fn allow() -> Verdict {
        Verdict::Allow {
            user_id: Bytes::from_static(b"admin"),
            properties: Vec::new(),
        }
    }

    /// Runs a whole handshake between a client and a server, byte for byte.
    #[test]
    fn client_and_server_complete_a_handshake() {
        let meta_c = Bytes::from_static(b"\x01C\x00\x00\x00\x01c");
        let meta_s = Bytes::from_static(b"\x01S\x00\x00\x00\x01s");
        let mut client = Plain::client(meta_c, Bytes::from_static(b"admin"), b"secret");
        let mut server = Plain::server(meta_s);
        assert!(server.is_server() && !client.is_server());
        let (mut to_s, mut to_c) = (OutBuf::new(), OutBuf::new());
        client.start(&mut to_s).unwrap();
        server.start(&mut to_c).unwrap();
        assert!(to_c.is_empty());
        let hello = body_of(&drain(&mut to_s));
        assert_eq!(&hello[..], b"\x05HELLO\x05admin\x06secret");
        match server.on_command(hello, &mut to_c).unwrap() {
            Progress::Authenticate(Credentials::Plain { username, password }) => {
                assert_eq!(
                    (&username[..], &password[..]),
                    (&b"admin"[..], &b"secret"[..])
                );
            }
            other => panic!("{other:?}"),
        }
        server.on_verdict(&allow(), &mut to_c).unwrap();
        let welcome = body_of(&drain(&mut to_c));
        assert_eq!(&welcome[..], b"\x07WELCOME");
        client.on_command(welcome, &mut to_s).unwrap();
        let initiate = body_of(&drain(&mut to_s));
        assert!(initiate.starts_with(b"\x08INITIATE"));
        match server.on_command(initiate, &mut to_c).unwrap() {
            Progress::Done(props) => assert_eq!(props, vec![("C".into(), Bytes::from("c"))]),
            other => panic!("{other:?}"),
        }
        let ready = body_of(&drain(&mut to_c));
        match client.on_command(ready, &mut to_s).unwrap() {
            Progress::Done(props) => assert_eq!(props, vec![("S".into(), Bytes::from("s"))]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hello_whose_lengths_overrun_its_body_is_refused() {
        for data in [
            &b""[..],
            b"\x05adm",
            b"\x05admin",
            b"\x05admin\x07secret",
            b"\x05admin\x06secret!",
            b"\xffa",
        ] {
            let mut body = b"\x05HELLO".to_vec();
            body.extend_from_slice(data);
            let mut server = Plain::server(Bytes::new());
            let mut out = OutBuf::new();
            let e = server.on_command(Bytes::from(body), &mut out).unwrap_err();
            assert_eq!(e, ProtocolError::Malformed("PLAIN HELLO"), "{data:?}");
        }
    }

    #[test]
    fn a_denied_client_gets_an_error_and_no_welcome() {
        let mut server = Plain::server(Bytes::new());
        let mut out = OutBuf::new();
        server
            .on_command(Bytes::from_static(b"\x05HELLO\x01u\x01p"), &mut out)
            .unwrap();
        let deny = Verdict::Deny {
            status: 400,
            text: "bad password".into(),
        };
        assert_eq!(
            server.on_verdict(&deny, &mut out).unwrap_err(),
            ProtocolError::AuthFailed { status: 400 }
        );
        // libzmq's spelling of ERROR, which libzmq clients expect; parse reads it as ERROR.
        let error = body_of(&drain(&mut out));
        assert_eq!(&error[..], b"\x5eRROR\x03400");
        assert_eq!(
            command::parse(error).unwrap(),
            command::Command::Error("400".into())
        );
    }

    #[test]
    fn commands_out_of_turn_are_refused() {
        let mut server = Plain::server(Bytes::new());
        let mut out = OutBuf::new();
        // INITIATE before HELLO, READY to a server.
        assert!(server
            .on_command(Bytes::from_static(b"\x08INITIATE"), &mut out)
            .is_err());
        let mut client = Plain::client(Bytes::new(), Bytes::from_static(b"u"), b"p");
        client.start(&mut out).unwrap();
        // READY before WELCOME, HELLO to a client, a verdict to a client.
        assert!(client
            .on_command(Bytes::from_static(b"\x05READY"), &mut out)
            .is_err());
        assert!(client.on_verdict(&allow(), &mut out).is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let client = Plain::client(Bytes::new(), Bytes::from_static(b"u"), b"hunter2");
        assert!(!format!("{client:?}").contains("hunter2"));
        let creds = Credentials::Plain {
            username: Bytes::from_static(b"u"),
            password: Bytes::from_static(b"hunter2"),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
