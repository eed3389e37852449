#!/usr/bin/env python3
"""PyTorch side of lmhead's model interop (issue 18): the word_language_model example's RNNModel, and
what lmhead's `import`, `export`, `eval` and `score` must agree with.

  train     train a small RNNModel on a corpus (or a slice), save its state dict as torch.save zip (.pt)
            AND .safetensors, plus the vocabulary (corpus.dictionary.idx2word, one word per line)
  eval      perplexity of a state dict on a text file, lmhead's definition: exp(mean NLL in nats over
            every target token, <eos> included, state carried over the whole file, batch 1)
  score     per-line log-probs, lmhead's `score` convention (state reset per line, <eos> fed as the
            start context, every word and the final <eos> scored), batched, timed
  fixtures  the small committed fixtures under src/test/resources/interop/

Run with Debian's torch:  /usr/bin/python3 bench/pytorch_interop.py SUBCOMMAND ...
No safetensors package is needed: the format is read and written here with struct/json.
"""
import argparse, array, gzip, json, math, os, struct, sys, time, zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- the example's model (model.py)

class RNNModel(nn.Module):
    """pytorch/examples word_language_model/model.py RNNModel (LSTM/GRU path), unchanged."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


def build_model(V, ninp, nhid, nlayers, dropout, tied, adaptive=None):
    """The example's model; adaptive = (cutoffs, div_value, head_bias) replaces the decoder with
    nn.AdaptiveLogSoftmaxWithLoss (what `lmhead export` prints for an adaptive head)."""
    m = RNNModel('LSTM', V, ninp, nhid, nlayers, dropout, tied)
    if adaptive:
        cutoffs, div, hb = adaptive
        m.decoder = nn.AdaptiveLogSoftmaxWithLoss(nhid, V, cutoffs=cutoffs, div_value=div, head_bias=hb)
    return m


def hidden_states(m, inp, hidden):
    """LSTM outputs [T*B, H] (eval mode: no dropout) and the new state."""
    out, hidden = m.rnn(m.drop(m.encoder(inp)), hidden)
    return m.drop(out).reshape(-1, out.size(2)), hidden


def target_logprob(m, h, target):
    """log P(target | h) per row, for either decoder."""
    if isinstance(m.decoder, nn.AdaptiveLogSoftmaxWithLoss):
        return m.decoder(h, target).output
    return F.log_softmax(m.decoder(h), dim=1).gather(1, target.view(-1, 1)).view(-1)


def model_from_state_dict(sd):
    """Rebuilds the RNNModel a state dict came from (shapes only), then load_state_dict(strict=True)."""
    V, ninp = (sd['encoder.weight'] if 'encoder.weight' in sd else sd['decoder.weight']).shape
    nhid = sd['rnn.weight_hh_l0'].shape[1]
    nl = 0
    while f'rnn.weight_ih_l{nl}' in sd:
        nl += 1
    adaptive = None
    if 'decoder.head.weight' in sd:
        C = 0
        while f'decoder.tail.{C}.0.weight' in sd:
            C += 1
        c, cut = sd['decoder.head.weight'].shape[0] - C, []
        for i in range(C):
            cut.append(c)
            c += sd[f'decoder.tail.{i}.1.weight'].shape[0]
        hsz0 = sd['decoder.tail.0.0.weight'].shape[0]
        div = next(d for d in (4.0, 2.0, 1.0, 3.0, 8.0, nhid / hsz0)
                   if all(int(nhid // (d ** (i + 1))) == sd[f'decoder.tail.{i}.0.weight'].shape[0] for i in range(C)))
        adaptive = (cut, div, 'decoder.head.bias' in sd)
    tied = adaptive is None and ('encoder.weight' not in sd or 'decoder.weight' not in sd
                                 or torch.equal(sd['encoder.weight'], sd['decoder.weight']))
    m = build_model(V, ninp, nhid, nl, 0.0, tied, adaptive)
    if tied and 'decoder.weight' not in sd:
        sd = dict(sd, **{'decoder.weight': sd['encoder.weight']})
    if tied and 'encoder.weight' not in sd:
        sd = dict(sd, **{'encoder.weight': sd['decoder.weight']})
    m.load_state_dict(sd, strict=True)
    m.eval()
    return m


# ---------------------------------------------------------------- files

def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().to(torch.float32).cpu()
        data = array.array('f', t.reshape(-1).tolist()).tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, spec in header.items():
        if name == '__metadata__':
            continue
        a, b = spec['data_offsets']
        dt = {'F32': torch.float32, 'I64': torch.int64, 'I32': torch.int32}[spec['dtype']]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=dt).reshape(spec['shape']).clone() if b > a \
            else torch.zeros(spec['shape'], dtype=dt)
    return out


def load_state_dict(path):
    return torch.load(path) if zipfile.is_zipfile(path) else read_safetensors(path)


def read_lines(path):
    op = gzip.open if path.endswith('.gz') else open
    with op(path, 'rt', encoding='utf-8') as f:
        return [line for line in f]


class Dictionary:
    """The example's data.Dictionary: ids in order of first appearance over train, valid, test."""

    def __init__(self):
        self.word2idx, self.idx2word = {}, []

    def add_word(self, w):
        if w not in self.word2idx:
            self.idx2word.append(w)
            self.word2idx[w] = len(self.idx2word) - 1
        return self.word2idx[w]


def tokenize(lines, d, add=False):
    ids = []
    for line in lines:
        for w in line.split() + ['<eos>']:
            ids.append(d.add_word(w) if add else d.word2idx.get(w, d.word2idx.get('<unk>')))
    return torch.tensor(ids, dtype=torch.long)


def find(folder, split):
    for name in (f'{split}.txt', f'{split}.txt.gz', f'wiki.{split}.tokens'):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    sys.exit(f'pytorch_interop.py: error: no {split}.txt[.gz] in {folder}')


def read_vocab(path):
    d = Dictionary()
    with open(path, encoding='utf-8') as f:
        for line in f:
            d.add_word(line.rstrip('\n'))
    return d


# ---------------------------------------------------------------- evaluation, lmhead's definitions

@torch.no_grad()
def perplexity(m, stream, chunk=256):
    """exp(mean NLL over every target token, <eos> included, state carried over the whole stream), batch 1."""
    hidden = m.init_hidden(1) if isinstance(m, RNNModel) else None
    nll, n = 0.0, 0
    for i in range(0, len(stream) - 1, chunk):
        inp = stream[i:i + chunk].view(-1, 1)
        tgt = stream[i + 1:i + 1 + chunk]
        inp = inp[:len(tgt)]
        h, hidden = hidden_states(m, inp, hidden)
        nll -= target_logprob(m, h, tgt).double().sum().item()
        n += len(tgt)
    return math.exp(nll / n), nll / n, n


@torch.no_grad()
def score_lines(m, d, lines, batch=64, packed=False):
    """Per line: (total log-prob in nats, tokens, per-token log-probs). State reset per line; <eos> is the
    start context; the words and the final <eos> are scored. Lines sorted by length and batched with
    padding at the end (an LSTM is causal, so padding never changes the real positions); with packed, the
    LSTM runs a PackedSequence (pack_padded_sequence), so padded positions are not computed, as lmhead's
    scorer does."""
    eos, unk = d.word2idx['<eos>'], d.word2idx.get('<unk>')
    seqs = [[d.word2idx.get(w, unk) for w in line.split()] + [eos] for line in lines]
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = [None] * len(seqs)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        T, B = max(len(seqs[i]) for i in idx), len(idx)
        inp = torch.full((T, B), eos, dtype=torch.long)
        tgt = torch.full((T, B), eos, dtype=torch.long)
        mask = torch.zeros((T, B), dtype=torch.bool)
        for b, i in enumerate(idx):
            n = len(seqs[i])
            tgt[:n, b] = torch.tensor(seqs[i])
            inp[1:n, b] = tgt[:n - 1, b]
            mask[:n, b] = True
        if packed:
            lengths = [len(seqs[i]) for i in idx]
            pk = nn.utils.rnn.pack_padded_sequence(m.drop(m.encoder(inp)), lengths, enforce_sorted=False)
            po, _ = m.rnn(pk, m.init_hidden(B))
            po, _ = nn.utils.rnn.pad_packed_sequence(po, total_length=T)
            h = m.drop(po).reshape(-1, po.size(2))
        else:
            h, _ = hidden_states(m, inp, m.init_hidden(B))
        flat = mask.view(-1)
        lp = torch.zeros(T * B)
        lp[flat] = target_logprob(m, h[flat], tgt.view(-1)[flat])
        lp = lp.view(T, B)
        for b, i in enumerate(idx):
            n = len(seqs[i])
            out[i] = (lp[:n, b].double().sum().item(), n, lp[:n, b].tolist())
    return out


def gemm_gflops():
    a, b = torch.randn(512, 512), torch.randn(4096, 512)
    a @ b.t()
    t, reps = time.perf_counter(), 5
    for _ in range(reps):
        a @ b.t()
    return 2 * 512 * 512 * 4096 * reps / (time.perf_counter() - t) / 1e9


# ---------------------------------------------------------------- training

def train(m, stream, V, steps, bptt=35, batch=20, lr=20.0, clip=0.25, seconds=0, log=True):
    nb = stream.size(0) // batch
    data = stream[:nb * batch].view(batch, -1).t().contiguous()
    m.train()
    hidden = m.init_hidden(batch)
    t0, step, i = time.time(), 0, 0
    while step < steps and (seconds <= 0 or time.time() - t0 < seconds):
        if i + 1 >= data.size(0) - 1:
            i, hidden = 0, m.init_hidden(batch)
        L = min(bptt, data.size(0) - 1 - i)
        inp, tgt = data[i:i + L], data[i + 1:i + 1 + L].reshape(-1)
        hidden = tuple(h.detach() for h in hidden)
        m.zero_grad()
        h, hidden = hidden_states(m, inp, hidden)
        if isinstance(m.decoder, nn.AdaptiveLogSoftmaxWithLoss):
            loss = m.decoder(h, tgt).loss
        else:
            loss = F.cross_entropy(m.decoder(h), tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), clip)
        for p in m.parameters():
            p.data.add_(p.grad, alpha=-lr)
        i += L
        step += 1
        if log and step % 100 == 0:
            print(f'  step {step}: loss {loss.item():.3f} ({time.time() - t0:.0f}s)', file=sys.stderr)
    m.eval()
    return step


def cmd_train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    d = Dictionary()
    lines = {s: read_lines(find(a.data, s)) for s in ('train', 'valid', 'test')}
    streams = {s: tokenize(lines[s], d, add=True) for s in ('train', 'valid', 'test')}
    V = len(d.idx2word)
    train_stream = streams['train'][:a.train_tokens] if a.train_tokens else streams['train']
    adaptive = (a.cutoffs, a.div_value, a.head_bias) if a.head == 'adaptive' else None
    m = build_model(V, a.emb, a.hidden, a.layers, a.dropout, a.tied and not adaptive, adaptive)
    steps = train(m, train_stream, V, a.steps, seconds=a.seconds)
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, a.name)
    sd = m.state_dict()
    torch.save(sd, base + '.pt')
    write_safetensors(base + '.safetensors', sd)
    with open(os.path.join(a.out, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(d.idx2word) + '\n')
    print(json.dumps({'out': base, 'vocab': V, 'steps': steps, 'train_tokens': steps * 35 * 20,
                      'parameters': sum(p.numel() for p in m.parameters())}))


def cmd_eval(a):
    torch.set_num_threads(a.threads)
    m = model_from_state_dict(load_state_dict(a.state_dict))
    d = read_vocab(a.vocab)
    stream = tokenize(read_lines(a.text), d)
    t0 = time.time()
    ppl, mean_nll, n = perplexity(m, stream)
    print(json.dumps({'ppl': ppl, 'mean_nll': mean_nll, 'tokens': n, 'seconds': time.time() - t0}))


def cmd_score(a):
    torch.set_num_threads(a.threads)
    m = model_from_state_dict(load_state_dict(a.state_dict))
    d = read_vocab(a.vocab)
    lines = [l.rstrip('\n') for l in read_lines(a.text)]
    score_lines(m, d, lines[:64], a.batch, a.packed)  # warm-up
    best = None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        res = score_lines(m, d, lines, a.batch, a.packed)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    tokens = sum(r[1] for r in res)
    total = sum(r[0] for r in res)
    if a.out:
        with open(a.out, 'w') as f:
            for r in res:
                f.write(f'{r[0]:.6f}\t{r[1]}\n')
    print(json.dumps({'lines': len(lines), 'tokens': tokens, 'logprob': total, 'ppl': math.exp(-total / tokens),
                      'seconds': best, 'sentences_per_s': len(lines) / best, 'tokens_per_s': tokens / best,
                      'threads': torch.get_num_threads(), 'batch': a.batch, 'packed': a.packed, 'sgemm_gflops': gemm_gflops()}))


# ---------------------------------------------------------------- fixtures

FIXTURE_SENTENCES = [
    'the company said it expects',
    'N N',
    '',
    'a zzzunseen word and the <unk>',
    'it is the first time in years that the market has',
]


def cmd_fixtures(a):
    torch.manual_seed(20261201)
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    out = a.out or os.path.join(here, '..', 'src', 'test', 'resources', 'interop')
    os.makedirs(out, exist_ok=True)
    # corpus: the first 3000 PTB training lines over their 80 most frequent words (others -> <unk>)
    lines = read_lines(os.path.join(here, '..', 'data', 'ptb', 'train.txt.gz'))[:3000]
    counts = {}
    for l in lines:
        for w in l.split():
            counts[w] = counts.get(w, 0) + 1
    keep = set(sorted(counts, key=lambda w: -counts[w])[:80]) | {'<unk>'}
    lines = [' '.join(w if w in keep else '<unk>' for w in l.split()) for l in lines]
    d = Dictionary()
    stream = tokenize(lines, d, add=True)
    V = len(d.idx2word)
    with open(os.path.join(out, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(d.idx2word) + '\n')
    with open(os.path.join(out, 'sentences.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(FIXTURE_SENTENCES) + '\n')
    specs = {
        'tied': dict(ninp=12, nhid=12, tied=True, adaptive=None),
        'untied': dict(ninp=10, nhid=12, tied=False, adaptive=None),
        'adaptive': dict(ninp=10, nhid=12, tied=False, adaptive=([20, 50], 2.0, True)),
    }
    for name, s in specs.items():
        m = build_model(V, s['ninp'], s['nhid'], 2, 0.1, s['tied'], s['adaptive'])
        train(m, stream, V, steps=150, lr=5.0, log=False)
        sd = m.state_dict()
        torch.save(sd, os.path.join(out, name + '.pt'))
        write_safetensors(os.path.join(out, name + '.safetensors'), sd)
        res = score_lines(m, d, FIXTURE_SENTENCES, batch=2)
        # the per-line state-carried stream (eval semantics) over the same sentences, for a second check
        ppl, mean_nll, n = perplexity(m, tokenize(FIXTURE_SENTENCES, d))
        exp = {f'logprob.{i}': torch.tensor(r[2]) for i, r in enumerate(res)}
        exp['eval.mean_nll'] = torch.tensor([mean_nll])
        write_safetensors(os.path.join(out, 'expected_' + name + '.safetensors'), exp,
                          {'vocab': str(V), 'torch_version': torch.__version__,
                           'sentences': 'sentences.txt', 'eval_tokens': str(n)})
        print(f'{name}: V={V} ' + ' '.join(f'{r[0]:.4f}' for r in res) + f' eval nll {mean_nll:.6f}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('train')
    t.add_argument('--data', default='data/wikitext-2')
    t.add_argument('--out', required=True)
    t.add_argument('--name', default='model')
    t.add_argument('--head', choices=['full', 'adaptive'], default='full')
    t.add_argument('--emb', type=int, default=64)
    t.add_argument('--hidden', type=int, default=64)
    t.add_argument('--layers', type=int, default=2)
    t.add_argument('--dropout', type=float, default=0.2)
    t.add_argument('--tied', action='store_true')
    t.add_argument('--cutoffs', type=lambda s: [int(x) for x in s.split(',')], default=[2000, 10000])
    t.add_argument('--div-value', type=float, default=4.0)
    t.add_argument('--head-bias', action='store_true')
    t.add_argument('--steps', type=int, default=10 ** 9)
    t.add_argument('--seconds', type=float, default=120)
    t.add_argument('--train-tokens', type=int, default=0)
    t.add_argument('--seed', type=int, default=1111)
    t.add_argument('--threads', type=int, default=2)
    for name in ('eval', 'score'):
        e = sub.add_parser(name)
        e.add_argument('--state-dict', required=True)
        e.add_argument('--vocab', required=True)
        e.add_argument('text')
        e.add_argument('--threads', type=int, default=2)
        if name == 'score':
            e.add_argument('--batch', type=int, default=64)
            e.add_argument('--repeats', type=int, default=3)
            e.add_argument('--packed', action='store_true', help='run the LSTM on a PackedSequence (no padded positions)')
            e.add_argument('--out')
    f = sub.add_parser('fixtures')
    f.add_argument('--out')
    a = ap.parse_args()
    {'train': cmd_train, 'eval': cmd_eval, 'score': cmd_score, 'fixtures': cmd_fixtures}[a.cmd](a)


if __name__ == '__main__':
    main()
