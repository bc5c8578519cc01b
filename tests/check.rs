//! The checkers themselves: a correct gradient passes, typical wrong ones fail with a useful message,
//! and comparisons point at the worst element.

use dlfs::Tensor;
use dlfs::check::{
    GradCheckConfig, Tolerance, assert_close, compare, gradcheck, gradcheck_layer, nudge_away_from,
};
use dlfs::nn::{Layer, Mode, Param};

/// f(x) = Σ sin(xᵢ)·xᵢ², whose gradient is cos(xᵢ)·xᵢ² + 2xᵢ·sin(xᵢ).
fn f(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v.sin() * v * v)).sum()
}

fn true_gradient(x: &[f32]) -> Vec<f32> {
    x.iter()
        .map(|&v| v.cos() * v * v + 2.0 * v * v.sin())
        .collect()
}

#[test]
fn gradcheck_passes_a_correct_gradient_with_a_small_error() {
    let mut x: Vec<f32> = (0..30).map(|i| (i as f32 - 15.0) * 0.2 + 0.1).collect();
    let g = true_gradient(&x);
    let report = gradcheck("x", &[30], &mut x, &g, f, &GradCheckConfig::default());
    assert!(report.passed, "{report}");
    // Well inside the tolerance (near x = 0 the truncation error h²·f‴/6 ≈ 10⁻⁴ dominates).
    assert!(report.worst_relative_error < 5e-3, "{report}");
}

#[test]
fn gradcheck_catches_typical_mistakes_and_names_the_cause() {
    let x0: Vec<f32> = (0..10).map(|i| 0.3 + i as f32 * 0.25).collect();
    let good = true_gradient(&x0);
    let cases: Vec<(&str, Vec<f32>)> = vec![
        ("sign", good.iter().map(|g| -g).collect()),
        ("2 ×", good.iter().map(|g| 2.0 * g).collect()),
        ("factor 2", good.iter().map(|g| 0.5 * g).collect()),
        ("never written", vec![0.0; 10]),
    ];
    for (cause, wrong) in cases {
        let mut x = x0.clone();
        let report = gradcheck("x", &[10], &mut x, &wrong, f, &GradCheckConfig::default());
        assert!(!report.passed, "a {cause} error was not caught");
        let text = report.to_string();
        assert!(
            text.contains(cause),
            "the diagnosis should mention {cause:?}: {text}"
        );
        assert_eq!(x, x0, "gradcheck must restore its input");
    }
}

/// f(X) = Σ sin(Xᵣ꜀)·Xᵣ꜀² on a [3, 5] matrix: gradients differ everywhere, so a transposed layout
/// and a constant factor can both be told apart from the right answer.
#[test]
fn the_diagnosis_is_judged_from_every_checked_element() {
    let (rows, columns) = (3, 5);
    let x0: Vec<f32> = (0..rows * columns).map(|i| 0.4 + i as f32 * 0.17).collect();
    let good = true_gradient(&x0);
    let mut transposed = vec![0.0; rows * columns];
    for r in 0..rows {
        for c in 0..columns {
            transposed[c * rows + r] = good[r * columns + c];
        }
    }
    let cases: Vec<(Vec<f32>, &str)> = vec![
        (
            transposed,
            "the right one transposed — read as shape [5, 3]",
        ),
        (
            good.iter().map(|g| 3.0 * g).collect(),
            "analytic = 3 × numeric, and 3 is the size of axis 0 of shape [3, 5]",
        ),
        (
            good.iter().map(|g| g / 5.0).collect(),
            "analytic = numeric / 5, and 5 is the size of axis 1",
        ),
        (
            good.iter().map(|g| -2.0 * g).collect(),
            "analytic = −2 × numeric: a term counted twice",
        ),
    ];
    for (wrong, cause) in cases {
        let mut x = x0.clone();
        let config = GradCheckConfig::default();
        let report = gradcheck("x", &[rows, columns], &mut x, &wrong, f, &config);
        assert!(!report.passed);
        assert_eq!(report.samples.len(), rows * columns);
        let text = report.to_string();
        assert!(
            text.contains("at all 15 checked elements") && text.contains(cause),
            "the diagnosis should say {cause:?}: {text}"
        );
    }
    // A mistake in two elements only is not called a sign error or a factor.
    let mut wrong = good.clone();
    wrong[3] = -wrong[3];
    wrong[7] *= 2.0;
    let mut x = x0.clone();
    let report = gradcheck(
        "x",
        &[rows, columns],
        &mut x,
        &wrong,
        f,
        &GradCheckConfig::default(),
    );
    let text = report.to_string();
    assert!(
        text.contains("13 of 15 checked elements are right and 2 wrong"),
        "{text}"
    );
}

#[test]
fn large_tensors_are_sampled_but_first_and_last_are_always_checked() {
    let mut x: Vec<f32> = (0..1000).map(|i| i as f32 * 1e-3).collect();
    let mut g = true_gradient(&x);
    g[999] += 1.0; // a mistake in the last element only
    let config = GradCheckConfig::default();
    let report = gradcheck("x", &[1000], &mut x, &g, f, &config);
    assert_eq!(report.checked, config.max_samples);
    assert!(!report.passed);
    assert_eq!(report.worst_index, 999);
}

#[test]
fn nudging_moves_values_off_kinks() {
    let mut v = vec![0.0, 0.005, -0.001, 0.5];
    nudge_away_from(&mut v, &[0.0], 0.02);
    assert_eq!(v, vec![0.02, 0.02, -0.02, 0.5]);
}

/// y = x·w + b per element, with a deliberate bug switch.
struct Affine {
    w: Param,
    b: Param,
    x: Option<Tensor>,
    forget_bias_gradient: bool,
}

impl Layer for Affine {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        if mode == Mode::Train {
            self.x = Some(x.clone());
        }
        let (w, b) = (self.w.value.data()[0], self.b.value.data()[0]);
        x.map(|v| v * w + b)
    }
    fn backward(&mut self, dy: &Tensor) -> Tensor {
        let x = self.x.as_ref().expect("forward first");
        self.w.grad.data_mut()[0] += x.mul(dy).sum();
        if !self.forget_bias_gradient {
            self.b.grad.data_mut()[0] += dy.sum();
        }
        dy.scale(self.w.value.data()[0])
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.w);
        f("bias", &mut self.b);
    }
    fn describe(&self) -> String {
        "Affine".into()
    }
}

fn affine(forget_bias_gradient: bool) -> Affine {
    Affine {
        w: Param::new(Tensor::from_vec(&[1], vec![1.5])),
        b: Param::new(Tensor::from_vec(&[1], vec![-0.5])),
        x: None,
        forget_bias_gradient,
    }
}

#[test]
fn layer_check_reports_input_and_every_parameter() {
    let x = Tensor::from_vec(&[2, 3], vec![0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
    let reports = gradcheck_layer(&mut affine(false), &x, &GradCheckConfig::default());
    let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["input", "weight", "bias"]);
    assert!(reports.iter().all(|r| r.passed), "{reports:?}");

    let reports = gradcheck_layer(&mut affine(true), &x, &GradCheckConfig::default());
    let bias = reports.iter().find(|r| r.name == "bias").unwrap();
    assert!(!bias.passed);
    assert!(bias.to_string().contains("never written"), "{bias}");
}

#[test]
fn compare_and_assert_close() {
    assert!(
        compare(
            "a",
            &[3],
            &[1.0, 2.0, 3.0],
            &[1.0, 2.0, 3.00001],
            Tolerance::F32
        )
        .is_ok()
    );
    let err = compare("a", &[3], &[1.0, 2.0], &[1.0, 2.0, 3.0], Tolerance::F32).unwrap_err();
    assert!(err.to_string().contains("expected 3 values"), "{err}");
    let result = std::panic::catch_unwind(|| {
        assert_close(
            "logits",
            &[2, 2],
            &[0.0, 0.0, 0.0, 9.0],
            &[0.0, 0.0, 0.0, 1.0],
            Tolerance::EXACT,
        )
    });
    let payload = result.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("logits") && message.contains("[1, 1]"),
        "{message}"
    );
}
