//! The command-line parser: values, defaults, switches, positionals, help, and clear usage errors.

use dlfs::Error;
use dlfs::cli::Command;

fn command() -> Command {
    Command::new("demo", "A demo.")
        .positional("table", "which table")
        .option("epochs", "N", "10", "passes over the data")
        .option("lr", "RATE", "0.001", "learning rate")
        .option("data", "DIR", "", "dataset folder")
        .switch("quick", "short run")
}

fn usage_message(result: dlfs::Result<dlfs::cli::Args>) -> String {
    match result {
        Err(Error::Usage(message)) => message,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn values_defaults_and_switches() {
    let args = command()
        .parse(["gemm", "--epochs", "3", "--lr=0.5", "--quick"])
        .unwrap();
    assert_eq!(args.get::<usize>("epochs").unwrap(), 3);
    assert_eq!(args.get::<f32>("lr").unwrap(), 0.5);
    assert!(args.flag("quick"));
    assert_eq!(args.positionals(), ["gemm"]);
    assert_eq!(args.get_opt::<String>("data").unwrap(), None);

    let defaults = command().parse::<[&str; 0], &str>([]).unwrap();
    assert_eq!(defaults.get::<usize>("epochs").unwrap(), 10);
    assert!(!defaults.flag("quick"));
    assert!(!defaults.was_given("epochs"));
}

#[test]
fn negative_numbers_are_values_not_flags() {
    let args = command().parse(["--lr", "-0.5"]).unwrap();
    assert_eq!(args.get::<f32>("lr").unwrap(), -0.5);
}

#[test]
fn help_wins_and_lists_every_option_with_its_default() {
    let args = command().parse(["--bogus", "--help"]).unwrap();
    assert!(args.help_requested());
    let help = command().help_text();
    for needle in [
        "--epochs N",
        "[default: 10]",
        "--quick",
        "--data DIR",
        "TABLE",
        "--help",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn mistakes_are_usage_errors_that_say_what_is_wrong() {
    let m = usage_message(command().parse(["--epoch", "3"]));
    assert!(m.contains("did you mean --epochs"), "{m}");
    let m = usage_message(command().parse(["--epochs"]));
    assert!(m.contains("--epochs needs a value"), "{m}");
    let m = usage_message(command().parse(["--quick=yes"]));
    assert!(m.contains("takes no value"), "{m}");
    let m = usage_message(command().parse(["a", "b"]));
    assert!(m.contains("unexpected argument 'b'"), "{m}");
    let m = usage_message(command().parse(["-x"]));
    assert!(m.contains("unknown option '-x'"), "{m}");

    let args = command().parse(["--epochs", "ten"]).unwrap();
    let err = args.get::<usize>("epochs").unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let m = err.to_string();
    assert!(
        m.contains("--epochs expects a whole number") && m.contains("'ten'"),
        "{m}"
    );
}

#[test]
fn list_options_take_several_values_and_repeat() {
    let command = command().list("predict", "FILE", "files to classify");
    let args = command
        .parse([
            "--predict",
            "a.png",
            "b c.ppm",
            "--epochs",
            "2",
            "--predict=-d.png",
            "--predict",
            "e.png",
        ])
        .unwrap();
    assert_eq!(
        args.values("predict"),
        ["a.png", "b c.ppm", "-d.png", "e.png"]
    );
    assert_eq!(args.get::<usize>("epochs").unwrap(), 2);
    assert!(args.was_given("predict"));
    let none = command.parse(["--quick"]).unwrap();
    assert!(none.values("predict").is_empty() && !none.was_given("predict"));
    let m = usage_message(command.parse(["--predict", "--quick"]));
    assert!(
        m.contains("--predict needs at least one value (FILE)"),
        "{m}"
    );
    assert!(command.help_text().contains("--predict FILE..."));
}

#[test]
fn inserted_values_read_as_given() {
    let mut args = command().parse(["--epochs", "3"]).unwrap();
    args.insert("lr", "0.25");
    args.insert("quick", "true");
    assert_eq!(args.get::<f32>("lr").unwrap(), 0.25);
    assert!(args.was_given("lr") && args.flag("quick"));
    assert_eq!(args.get::<usize>("epochs").unwrap(), 3);
}
