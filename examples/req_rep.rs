//! Request/reply "hello world": a REP server answers "World" to every "Hello" from a REQ
//! client, over tcp on an ephemeral port.
//!
//! Run: `cargo run --example req_rep`

use ferrozmq::{Context, SocketType};

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let mut server = ctx.socket(SocketType::Rep)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.last_endpoint().expect("bound");

    let rounds = 10;
    let server_thread = std::thread::spawn(move || -> ferrozmq::Result<()> {
        for _ in 0..rounds {
            let request = server.recv()?;
            println!("server got {:?}", String::from_utf8_lossy(&request[0]));
            server.send("World")?;
        }
        Ok(())
    });

    let mut client = ctx.socket(SocketType::Req)?;
    client.connect(&endpoint)?;
    for i in 0..rounds {
        client.send(format!("Hello {i}"))?;
        let reply = client.recv()?;
        println!("client got {:?}", String::from_utf8_lossy(&reply[0]));
    }
    server_thread.join().expect("server thread")?;
    Ok(())
}
