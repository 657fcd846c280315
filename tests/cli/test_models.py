from calib.cli import main


def test_models_lists_catalog_with_shapes(runner):
    result = runner.invoke(main, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16",
                 "bert-base", "tiny-cnn"):
        assert name in result.output
    assert "3x224x224" in result.output
    assert "11.69 M" in result.output  # resnet18's parameter count, counted on the meta device
