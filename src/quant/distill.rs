//! Knowledge distillation (Hinton, Vinyals & Dean 2015; chapter 18): a small *student* network
//! learns from a big *teacher*'s softened predictions as well as from the labels.
//!
//! # The loss
//! With logits `s` (student) and `t` (teacher) of one example, label `y`, temperature `T` and weight
//! `α`:
//!
//! ```text
//! p_t = softmax(t / T),   p_s = softmax(s / T)
//! L = α · T² · KL(p_t ‖ p_s) + (1 − α) · CE(softmax(s), y)
//! ∂L/∂s = α · T · (p_s − p_t) + (1 − α) · (softmax(s) − onehot(y))        (per example; mean over N)
//! ```
//!
//! A high temperature flattens the teacher's distribution, so the student also learns *how wrong*
//! each wrong class is ("dark knowledge": a ring looks more like a disk than like stripes). The
//! gradient of the soft term scales as `1/T`, hence the factor `T²` that keeps both terms
//! comparable as `T` changes. At `T = 1` the soft targets are the teacher's plain probabilities.
//!
//! Targets travel as one tensor `[N, 1 + K]`: the label in column 0, the teacher's logits after it,
//! so the loss fits [`crate::train::fit`] unchanged ([`teacher_targets`] builds it).
//!
//! What it leaves out: feature (hint) distillation, self-distillation, distilling into int8.

use crate::error::{Error, Result};
use crate::loss::{Loss, LossOutput};
use crate::nn::{Conv2d, Flatten, Linear, MaxPool2d, Relu, Sequential};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// The distillation loss (see the module docs) as a [`Loss`] over targets `[N, 1 + K]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DistillationLoss {
    /// The temperature T (> 0).
    pub temperature: f32,
    /// The weight α of the soft term (1 − α goes to the labels).
    pub alpha: f32,
}

/// The loss and its gradient for student logits `[N, K]`, teacher logits `[N, K]` and labels.
/// Panics if the shapes disagree or a label is not in `0..K`.
pub fn distillation_loss(
    student: &Tensor,
    teacher: &Tensor,
    labels: &[usize],
    temperature: f32,
    alpha: f32,
) -> LossOutput {
    assert!(
        student.ndim() == 2 && student.shape() == teacher.shape() && labels.len() == student.dim(0),
        "distillation_loss: student {:?}, teacher {:?}, {} labels",
        student.shape(),
        teacher.shape(),
        labels.len()
    );
    let (n, k) = (student.dim(0), student.dim(1));
    let (t, alpha) = (f64::from(temperature), f64::from(alpha));
    let mut grad = Tensor::zeros(&[n, k]);
    let mut total = 0.0f64;
    for (row, &label) in labels.iter().enumerate() {
        assert!(
            label < k,
            "distillation_loss: label {label} of example {row} is not in 0..{k}"
        );
        // In f64: at T = 20 the soft term is a small difference multiplied by T² = 400.
        let log_p_s = log_softmax_f64(student.row(row), t);
        let log_p_t = log_softmax_f64(teacher.row(row), t);
        let log_p_hard = log_softmax_f64(student.row(row), 1.0);
        let kl: f64 = (0..k)
            .map(|j| log_p_t[j].exp() * (log_p_t[j] - log_p_s[j]))
            .sum();
        total += alpha * t * t * kl - (1.0 - alpha) * log_p_hard[label];
        let g = grad.row_mut(row);
        for j in 0..k {
            let soft = log_p_s[j].exp() - log_p_t[j].exp();
            let hard = log_p_hard[j].exp() - if j == label { 1.0 } else { 0.0 };
            g[j] = ((alpha * t * soft + (1.0 - alpha) * hard) / n as f64) as f32;
        }
    }
    LossOutput {
        value: (total / n.max(1) as f64) as f32,
        grad,
        terms: None,
    }
}

/// `log softmax(z / T)` in f64, stably (the largest value subtracted first).
fn log_softmax_f64(z: &[f32], temperature: f64) -> Vec<f64> {
    let scaled: Vec<f64> = z.iter().map(|&v| f64::from(v) / temperature).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = scaled.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
    scaled.iter().map(|v| v - log_sum).collect()
}

impl Loss for DistillationLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        let (n, k) = (output.dim(0), output.dim(1));
        assert_eq!(
            target.len(),
            n * (k + 1),
            "DistillationLoss: targets must be [N, 1 + K] = [{n}, {}], got {:?}",
            k + 1,
            target.shape()
        );
        let labels: Vec<usize> = (0..n)
            .map(|i| target.data()[i * (k + 1)] as usize)
            .collect();
        let teacher = Tensor::from_fn(&[n, k], |i| target.data()[(i / k) * (k + 1) + 1 + i % k]);
        distillation_loss(output, &teacher, &labels, self.temperature, self.alpha)
    }

    fn check(&self, output: &Tensor, target: &Tensor) -> Result<()> {
        let (n, k) = (output.dim(0), output.dim(1));
        if target.len() != n * (k + 1) {
            return Err(Error::data(format!(
                "{}: targets must hold a label and {k} teacher logits per example ({} values), \
                 found {}",
                self.name(),
                n * (k + 1),
                target.len()
            )));
        }
        for i in 0..n {
            let label = target.data()[i * (k + 1)];
            if !(label >= 0.0 && label < k as f32 && label.fract() == 0.0) {
                return Err(Error::data(format!(
                    "{}: the label of example {i} is {label}, not a class index in 0..{k}",
                    self.name()
                )));
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!(
            "DistillationLoss(T={}, alpha={})",
            self.temperature, self.alpha
        )
    }
}

/// Targets `[N, 1 + K]` for [`DistillationLoss`]: each label followed by the teacher's logits.
pub fn teacher_targets(labels: &[usize], teacher_logits: &Tensor) -> Tensor {
    let (n, k) = (teacher_logits.dim(0), teacher_logits.dim(1));
    assert_eq!(
        labels.len(),
        n,
        "teacher_targets: {} labels for {n} rows of logits",
        labels.len()
    );
    let mut data = Vec::with_capacity(n * (k + 1));
    for (i, &label) in labels.iter().enumerate() {
        data.push(label as f32);
        data.extend_from_slice(teacher_logits.row(i));
    }
    Tensor::from_vec(&[n, k + 1], data)
}

/// The student: chapter 12's architecture made about ten times smaller (6,186 parameters against
/// 62,006):
///
/// ```text
/// x [N, 3, 32, 32] → Conv2d(3, 4, 5) → MaxPool 2 → ReLU → Conv2d(4, 8, 5) → MaxPool 2 → ReLU
///                  → flatten [N, 200] → Linear(200, 24) → ReLU → Linear(24, 10)
/// ```
pub fn student_cnn(rng: &mut Rng) -> Sequential {
    let mut model = Sequential::default();
    model.push(Conv2d::builder(3, 4, 5).input_gradient(false).build(rng));
    model.push(MaxPool2d::new(2));
    model.push(Relu::new());
    model.push(Conv2d::new(4, 8, 5, rng));
    model.push(MaxPool2d::new(2));
    model.push(Relu::new());
    model.push(Flatten::new());
    model.push(Linear::new(200, 24, rng));
    model.push(Relu::new());
    model.push(Linear::new(24, 10, rng));
    model
}
