"""A small MaxViT-like network after torchvision's maxvit.py (torchvision ≥ 0.15; Debian's 0.14
has none): MBConv with squeeze-excitation, block (window) and grid attention with a relative
position bias, and the attention products written as torch.einsum like torchvision's."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class RelAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.1)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", (rel[:, :, 0] * (2 * window - 1) + rel[:, :, 1]).flatten(), persistent=False)

    def forward(self, x):  # x: [B, G, P, C]
        b, g, p, c = x.shape
        d = c // self.heads
        q, k, v = self.qkv(x).reshape(b, g, p, 3, self.heads, d).permute(3, 0, 1, 4, 2, 5)
        dot = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k) / d ** 0.5
        bias = self.table[self.index].view(p, p, self.heads).permute(2, 0, 1)
        attn = F.softmax(dot + bias, dim=-1)
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", attn, v)
        return self.proj(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, c))


class PartitionAttention(nn.Module):
    """Block ("window") or grid partition, pre-norm attention and MLP, then the inverse partition."""

    def __init__(self, dim, heads, window, grid):
        super().__init__()
        self.window, self.grid = window, grid
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = RelAttention(dim, heads, window)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):  # [B, C, H, W]
        b, c, h, w = x.shape
        p = self.window
        t = x.reshape(b, c, h // p, p, w // p, p)
        perm = (0, 3, 5, 2, 4, 1) if self.grid else (0, 2, 4, 3, 5, 1)
        t = t.permute(*perm).reshape(b, -1, p * p, c)
        t = t + self.attn(self.norm1(t))
        t = t + self.mlp(self.norm2(t))
        g = (h // p, w // p)
        if self.grid:
            t = t.reshape(b, p, p, g[0], g[1], c).permute(0, 5, 3, 1, 4, 2)
        else:
            t = t.reshape(b, g[0], g[1], p, p, c).permute(0, 5, 1, 3, 2, 4)
        return t.reshape(b, c, h, w)


class MBConv(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        mid = 2 * cout
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.Conv2d(cin, mid, 1), nn.BatchNorm2d(mid), nn.GELU(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid), nn.BatchNorm2d(mid), nn.GELU())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, mid // 4, 1), nn.SiLU(), nn.Conv2d(mid // 4, mid, 1),
                                nn.Sigmoid())
        self.out = nn.Conv2d(mid, cout, 1)
        self.skip = nn.Sequential(nn.AvgPool2d(3, stride, 1), nn.Conv2d(cin, cout, 1)) if stride > 1 else nn.Identity()

    def forward(self, x):
        y = self.body(x)
        return self.skip(x) + self.out(y * self.se(y))


class MaxVitLike(nn.Module):
    def __init__(self, dim=16, heads=2, window=4, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 3, 2, 1), nn.BatchNorm2d(dim), nn.GELU())
        self.mb = MBConv(dim, dim, 2)
        self.block = PartitionAttention(dim, heads, window, grid=False)
        self.grid = PartitionAttention(dim, heads, window, grid=True)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        y = self.grid(self.block(self.mb(self.stem(x))))
        return self.head(torch.tanh(self.norm(y.mean(dim=(2, 3)))))
