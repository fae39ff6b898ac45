//! ferrozmq under tokio: a REQ/REP service and a PUSH/PULL pipeline, each end a tokio task,
//! with the same sockets the blocking examples use. ferrozmq needs no runtime of its own:
//! `send_async`/`recv_async` work under any executor.
//!
//! Run: `cargo run --example async_tokio`

use ferrozmq::{Context, Socket, SocketType};

/// Squares each number it is given, forever, tagging results with its id.
async fn worker(id: usize, mut input: Socket, mut output: Socket) -> ferrozmq::Result<()> {
    loop {
        let task = input.recv_async().await?;
        let n: u64 = String::from_utf8_lossy(&task[0]).parse().unwrap_or(0);
        output.send_async(format!("{id}:{}", n * n)).await?;
    }
}

#[tokio::main]
async fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();

    // A REQ/REP service: the server answers each request in a task of its own.
    let mut server = ctx.socket(SocketType::Rep)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.last_endpoint().expect("bound");
    let service = tokio::spawn(async move {
        for _ in 0..5 {
            let request = server.recv_async().await?;
            let name = String::from_utf8_lossy(&request[0]).into_owned();
            server.send_async(format!("Hello, {name}")).await?;
        }
        Ok::<_, ferrozmq::Error>(())
    });
    let mut client = ctx.socket(SocketType::Req)?;
    client.connect(&endpoint)?;
    for name in ["ada", "grace", "barbara", "frances", "radia"] {
        client.send_async(name).await?;
        let reply = client.recv_async().await?;
        println!("reply: {}", String::from_utf8_lossy(&reply[0]));
    }
    service.await.expect("service task")?;

    // A PUSH/PULL pipeline: a producer task, two workers, and a sink.
    let mut sink = ctx.socket(SocketType::Pull)?;
    sink.bind("tcp://127.0.0.1:*")?;
    let sink_endpoint = sink.last_endpoint().expect("bound");
    let mut ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind("tcp://127.0.0.1:*")?;
    let work_endpoint = ventilator.last_endpoint().expect("bound");
    let mut workers = Vec::new();
    for id in 0..2 {
        let mut input = ctx.socket(SocketType::Pull)?;
        input.connect(&work_endpoint)?;
        let mut output = ctx.socket(SocketType::Push)?;
        output.connect(&sink_endpoint)?;
        workers.push(tokio::spawn(worker(id, input, output)));
    }
    let tasks = 100u64;
    let producer = tokio::spawn(async move {
        for n in 0..tasks {
            ventilator.send_async(n.to_string()).await?;
        }
        Ok::<_, ferrozmq::Error>(ventilator)
    });
    let mut total = 0u64;
    for _ in 0..tasks {
        let result = sink.recv_async().await?;
        let text = String::from_utf8_lossy(&result[0]).into_owned();
        total += text
            .split(':')
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    println!("pipeline: {tasks} results, sum of squares {total}");
    let _ventilator = producer.await.expect("producer task")?;
    // The workers would wait for more work forever: dropping a future is a safe way to
    // stop it, since a receive that never completed took nothing.
    for w in workers {
        w.abort();
    }
    Ok(())
}
