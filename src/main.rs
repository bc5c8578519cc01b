//! `dlfs`, the tour: runs every chapter of the book in quick mode, one after the other.
//!
//! `cargo run --release` lands here. Each chapter is a file in `chapters/` that is also its own binary
//! (`cargo run --release --bin ch02_linear_algebra`); the tour includes those same files as modules and
//! calls their `run` with `--quick`, so there is exactly one copy of every chapter.

use dlfs::cli::{Args, Command};
use dlfs::{Result, app};
use std::time::Instant;

// The chapter files, included as modules (their `fn main` is unused here). One line pair per chapter:
// #[allow(dead_code)] #[path = "../chapters/chNN_name.rs"] mod chNN_name;
#[allow(dead_code)]
#[path = "../chapters/ch01_introduction.rs"]
mod ch01_introduction;
#[allow(dead_code)]
#[path = "../chapters/ch02_linear_algebra.rs"]
mod ch02_linear_algebra;
#[allow(dead_code)]
#[path = "../chapters/ch03_calculus.rs"]
mod ch03_calculus;
#[allow(dead_code)]
#[path = "../chapters/ch04_probability.rs"]
mod ch04_probability;
#[allow(dead_code)]
#[path = "../chapters/ch05_first_network.rs"]
mod ch05_first_network;
#[allow(dead_code)]
#[path = "../chapters/ch06_neurons.rs"]
mod ch06_neurons;
#[allow(dead_code)]
#[path = "../chapters/ch07_feedforward.rs"]
mod ch07_feedforward;
#[allow(dead_code)]
#[path = "../chapters/ch08_cnn.rs"]
mod ch08_cnn;
#[allow(dead_code)]
#[path = "../chapters/ch09_rnn.rs"]
mod ch09_rnn;
#[allow(dead_code)]
#[path = "../chapters/ch10_losses.rs"]
mod ch10_losses;
#[allow(dead_code)]
#[path = "../chapters/ch11_optimizers.rs"]
mod ch11_optimizers;
#[allow(dead_code)]
#[path = "../chapters/ch12_image_classification.rs"]
mod ch12_image_classification;
#[allow(dead_code)]
#[path = "../chapters/ch13_text_classification.rs"]
mod ch13_text_classification;
#[allow(dead_code)]
#[path = "../chapters/ch14_time_series.rs"]
mod ch14_time_series;
#[allow(dead_code)]
#[path = "../chapters/ch15_gpu.rs"]
mod ch15_gpu;
#[allow(dead_code)]
#[path = "../chapters/ch16_pretraining.rs"]
mod ch16_pretraining;
#[allow(dead_code)]
#[path = "../chapters/ch17_meta_and_rl.rs"]
mod ch17_meta_and_rl;
#[allow(dead_code)]
#[path = "../chapters/ch18_future_directions.rs"]
mod ch18_future_directions;

/// One chapter of the book: its binary name, the tutorial's section title, its flags and its body.
struct Chapter {
    name: &'static str,
    title: &'static str,
    command: fn() -> Command,
    run: fn(&Args) -> Result<()>,
}

/// The book, in reading order.
const CHAPTERS: &[Chapter] = &[
    Chapter {
        name: "ch01_introduction",
        title: "深度学习简介 — what deep learning is",
        command: ch01_introduction::command,
        run: ch01_introduction::run,
    },
    Chapter {
        name: "ch02_linear_algebra",
        title: "线性代数基础 — linear algebra",
        command: ch02_linear_algebra::command,
        run: ch02_linear_algebra::run,
    },
    Chapter {
        name: "ch03_calculus",
        title: "微积分基础 — calculus",
        command: ch03_calculus::command,
        run: ch03_calculus::run,
    },
    Chapter {
        name: "ch04_probability",
        title: "概率论基础 — probability",
        command: ch04_probability::command,
        run: ch04_probability::run,
    },
    Chapter {
        name: "ch05_first_network",
        title: "深度学习框架入门 — frameworks and the first network",
        command: ch05_first_network::command,
        run: ch05_first_network::run,
    },
    Chapter {
        name: "ch06_neurons",
        title: "神经网络的基础结构 — neurons and activations",
        command: ch06_neurons::command,
        run: ch06_neurons::run,
    },
    Chapter {
        name: "ch07_feedforward",
        title: "前馈神经网络 — feed-forward networks",
        command: ch07_feedforward::command,
        run: ch07_feedforward::run,
    },
    Chapter {
        name: "ch08_cnn",
        title: "卷积神经网络 — convolutional networks",
        command: ch08_cnn::command,
        run: ch08_cnn::run,
    },
    Chapter {
        name: "ch09_rnn",
        title: "循环神经网络 — RNN, LSTM, GRU",
        command: ch09_rnn::command,
        run: ch09_rnn::run,
    },
    Chapter {
        name: "ch10_losses",
        title: "常见的损失函数 — losses",
        command: ch10_losses::command,
        run: ch10_losses::run,
    },
    Chapter {
        name: "ch11_optimizers",
        title: "常见的优化算法 — optimizers",
        command: ch11_optimizers::command,
        run: ch11_optimizers::run,
    },
    Chapter {
        name: "ch12_image_classification",
        title: "图像分类项目实操 — CIFAR-10 image classification",
        command: ch12_image_classification::command,
        run: ch12_image_classification::run,
    },
    Chapter {
        name: "ch13_text_classification",
        title: "自然语言处理项目实操 — IMDB sentiment classification",
        command: ch13_text_classification::command,
        run: ch13_text_classification::run,
    },
    Chapter {
        name: "ch14_time_series",
        title: "时间序列预测项目实操 — stock price forecasting",
        command: ch14_time_series::command,
        run: ch14_time_series::run,
    },
    Chapter {
        name: "ch15_gpu",
        title: "硬件加速 — hardware acceleration (GPU)",
        command: ch15_gpu::command,
        run: ch15_gpu::run,
    },
    Chapter {
        name: "ch16_pretraining",
        title: "深度学习的未来趋势 — self-supervised pretraining and transfer learning",
        command: ch16_pretraining::command,
        run: ch16_pretraining::run,
    },
    Chapter {
        name: "ch17_meta_and_rl",
        title: "深度学习的未来趋势 — meta-learning and reinforcement learning",
        command: ch17_meta_and_rl::command,
        run: ch17_meta_and_rl::run,
    },
    Chapter {
        name: "ch18_future_directions",
        title: "深度学习的未来趋势 — where deep learning is going (efficiency, interpretability, multimodal, edge)",
        command: ch18_future_directions::command,
        run: ch18_future_directions::run,
    },
];

fn tour_command() -> Command {
    Command::new(
        "dlfs",
        "The tour: runs every chapter of the book in quick mode. Run one chapter in full with\n\
         `cargo run --release --bin <chapter>` (list them with --list).",
    )
    .option(
        "only",
        "NAME",
        "",
        "run only the chapters whose name contains NAME (e.g. ch03)",
    )
    .switch("list", "list the chapters and exit")
}

fn tour(args: &Args) -> Result<()> {
    if args.flag("list") {
        for chapter in CHAPTERS {
            println!("{:<28} {}", chapter.name, chapter.title);
        }
        return Ok(());
    }
    let only: Option<String> = args.get_opt("only")?;
    if only.as_deref() == Some("") {
        return Err(dlfs::Error::usage(
            "--only is empty; give part of a chapter's name, e.g. --only ch03 (see --list)",
        ));
    }
    let selected: Vec<&Chapter> = CHAPTERS
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect();
    if let Some(only) = &only
        && selected.is_empty()
    {
        return Err(dlfs::Error::usage(format!(
            "--only: no chapter name contains {} (see --list)",
            dlfs::input::excerpt(only)
        )));
    }
    let mut failed = Vec::new();
    for chapter in selected {
        println!("\n{}", "=".repeat(78));
        println!("{} — {}", chapter.name, chapter.title);
        println!("{}\n", "=".repeat(78));
        let out = format!("out/tour/{}", chapter.name);
        let started = Instant::now();
        let result = app::parse_for((chapter.command)(), &["--quick", "--out", &out])
            .and_then(|chapter_args| (chapter.run)(&chapter_args));
        match result {
            Ok(()) => println!(
                "\n[{} done in {:.1} s]",
                chapter.name,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("error in {}: {e}", chapter.name);
                failed.push(chapter.name);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(dlfs::Error::data(format!(
            "these chapters failed: {}",
            failed.join(", ")
        )))
    }
}

fn main() {
    app::main_for(tour_command(), tour);
}
