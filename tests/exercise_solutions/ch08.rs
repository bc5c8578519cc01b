//! Reference solutions of chapter 8's exercises (see `mod.rs`).

use dlfs::check::ch08::{ConvShape, PoolShape};

pub fn conv_output_size(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    let geometry = dlfs::nn::im2col::ConvGeometry {
        channels: 1,
        height: size,
        width: size,
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_h: padding,
        pad_w: padding,
    };
    geometry.out_h()
}

pub fn im2col(
    image: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Vec<f32> {
    let geometry = dlfs::nn::im2col::ConvGeometry {
        channels,
        height,
        width,
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_h: padding,
        pad_w: padding,
    };
    let mut cols = vec![0.0; geometry.col_rows() * geometry.col_cols()];
    dlfs::nn::im2col::im2col(&geometry, image, &mut cols);
    cols
}

pub fn conv2d_forward(x: &[f32], weight: &[f32], bias: &[f32], shape: ConvShape) -> Vec<f32> {
    use dlfs::nn::{Conv2d, Layer, Mode};
    let mut layer = Conv2d::builder(shape.in_channels, shape.out_channels, shape.kernel)
        .stride(shape.stride)
        .padding(shape.padding)
        .build(&mut dlfs::probability::Rng::new(0));
    layer.visit_params(&mut |name, param| {
        let values = if name == "weight" { weight } else { bias };
        param.value.data_mut().copy_from_slice(values);
    });
    let input_shape = [shape.n, shape.in_channels, shape.height, shape.width];
    let input = dlfs::Tensor::from_vec(&input_shape, x.to_vec());
    layer.forward(&input, Mode::Eval).into_data()
}

pub fn maxpool2d_backward(x: &[f32], grad_output: &[f32], shape: PoolShape) -> Vec<f32> {
    use dlfs::nn::{Layer, MaxPool2d, Mode};
    let mut pool = MaxPool2d::new(shape.kernel).stride(shape.stride);
    let input_shape = [shape.n, shape.channels, shape.height, shape.width];
    pool.forward(
        &dlfs::Tensor::from_vec(&input_shape, x.to_vec()),
        Mode::Train,
    );
    let output_shape = pool.output_shape(&input_shape);
    let dy = dlfs::Tensor::from_vec(&output_shape, grad_output.to_vec());
    pool.backward(&dy).into_data()
}
