# The same two networks exported by PyTorch (torch.onnx.export, opset 13, batch dimension N),
# for ONNX Runtime beside ctnn's own exports in bench/compare_onnxruntime.sh: the seed network
# of ../shared/peers/seed_torch.py and torchvision's ResNet-18 with the CIFAR stem
# (bench/resnet_torch.py), in eval mode.
#   python3 onnx_export_torch.py DIR SEED_TORCH_PY   writes DIR/torch_seed.onnx, DIR/torch_cifar_resnet18.onnx
import importlib.util, os, sys
import torch


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export(model, file):
    model.eval()
    torch.onnx.export(model, torch.randn(1, 3, 32, 32), file, opset_version=13, input_names=['input'],
                      output_names=['output'], dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
    print(f'{file} ({os.path.getsize(file) / 1e6:.1f} MB)')


if __name__ == '__main__':
    out, seed_py = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    export(load(seed_py, 'seed_torch').CNN(), os.path.join(out, 'torch_seed.onnx'))
    resnet = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'resnet_torch.py'), 'resnet_torch')
    export(resnet.cifar_resnet18(), os.path.join(out, 'torch_cifar_resnet18.onnx'))
