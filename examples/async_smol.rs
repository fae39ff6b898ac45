//! ferrozmq under smol: a DEALER client and a ROUTER server, each a smol task, on the same
//! sockets the blocking examples use (no runtime is built into ferrozmq).
//!
//! Run: `cargo run --example async_smol`

use ferrozmq::{Context, Message, SocketType};

fn main() -> ferrozmq::Result<()> {
    smol::block_on(async {
        let ctx = Context::new();
        let mut router = ctx.socket(SocketType::Router)?;
        router.bind("tcp://127.0.0.1:*")?;
        let endpoint = router.last_endpoint().expect("bound");
        let server = smol::spawn(async move {
            for _ in 0..3 {
                // [client id, body]: answer the same client.
                let mut request = router.recv_async().await?;
                let body = request.pop_back().unwrap_or_default();
                let reply = String::from_utf8_lossy(&body).to_uppercase();
                request.push_back(reply);
                router.send_async(request).await?;
            }
            Ok::<_, ferrozmq::Error>(())
        });
        let mut dealer = ctx.socket(SocketType::Dealer)?;
        dealer.connect(&endpoint)?;
        for word in ["tiny", "fast", "async"] {
            dealer.send_async(Message::from(word)).await?;
            let reply = dealer.recv_async().await?;
            println!("reply: {}", String::from_utf8_lossy(&reply[0]));
        }
        server.await
    })
}
