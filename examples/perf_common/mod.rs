//! What the four network perf tools (local_thr, remote_thr, local_lat, remote_lat) share:
//! running over CURVE when the environment holds `ZMQ_PERF_CURVE=1`, with their command
//! lines unchanged (issue 10).
//!
//! The keys are libzmq's well-known test keys, fixed so that either end of a measurement
//! can be another implementation's tool configured the same way. Never use them for
//! anything else: their secret halves are public.

use ferrozmq::Socket;

/// The variable that turns CURVE on; only the value `1` does.
pub const CURVE_ENV: &str = "ZMQ_PERF_CURVE";

/// The bind side's (server's) secret key, Z85.
pub const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
/// The bind side's (server's) public key, Z85: what the connect side is given.
pub const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// The connect side's (client's) secret key, Z85; its public key is
/// `Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID`.
pub const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

/// Which end of the measurement a tool is: the side that binds or the side that connects.
// Each tool is compiled with this module on its own and names one of the two sides.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// local_thr, local_lat: a CURVE server under `ZMQ_PERF_CURVE=1`.
    Bind,
    /// remote_thr, remote_lat: a CURVE client of the bind side.
    Connect,
}

/// Makes `socket` a CURVE server (bind side) or client (connect side) when
/// `ZMQ_PERF_CURVE=1`; leaves it on NULL otherwise. Call it before bind or connect.
pub fn security(socket: &mut Socket, side: Side) -> ferrozmq::Result<()> {
    if std::env::var(CURVE_ENV).as_deref() != Ok("1") {
        return Ok(());
    }
    match side {
        Side::Bind => {
            socket.set_curve_secretkey(SERVER_SECRET)?;
            socket.set_curve_server(true)
        }
        Side::Connect => {
            socket.set_curve_secretkey(CLIENT_SECRET)?;
            socket.set_curve_serverkey(SERVER_PUBLIC)
        }
    }
}
