"""The Jinja template of distilkit's model cards (rendered by ``huggingface_hub.ModelCard.from_template``).

Every variable comes from :func:`distilkit.runs.model_card.card_fields`; the YAML block (``card_data``)
is ``huggingface_hub``'s own rendering of the card data.
"""

TEMPLATE = """---
{{ card_data }}
---
{{ mark }}

# {{ title }}

{{ summary }}

## Task and labels

- task: {{ task_line }}
{%- if labels %}
- {{ labels | length }} labels: {% for label in labels %}`{{ label }}`{{ ", " if not loop.last }}{% endfor %}
{%- endif %}
- data: {{ data_line }}
{%- if language %}
- language: {{ language if language is string else language | join(", ") }}
{%- endif %}
{%- if license %}
- license: {{ license }}
{%- endif %}

## How it was built
{% for line in built %}
- {{ line }}
{%- endfor %}
{% if selection %}
### Distilled or not: what this folder holds

{{ selection }}
{% endif %}
## Results

{{ results }}

## Size and speed
{% for line in size %}
- {{ line }}
{%- endfor %}

## How to use

{{ usage }}

## Upload to the Hub

The model is the weights, `config.json`, the tokenizer files and this card{{ " (and the ONNX graphs)" if onnx }}.
The other files are distilkit's run records ({{ records }}): they hold paths on the machine that
trained the model and, after `distilkit evaluate`, a prediction for every evaluation row. Upload
the folder without them:

```bash
{{ upload }}
```

## Recipe

The settings of this run (local paths shortened to their last part), as a `--config` recipe:

```yaml
{{ recipe }}
```

## Limitations

Trained on {{ data_name }} only: expect lower scores on text unlike it (other domains, languages,
lengths). Texts are cut to {{ max_length }} tokens. A distilled or quantised model inherits its
teacher's mistakes and biases; check it on your own data before relying on it.
"""
