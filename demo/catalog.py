"""The demo shop's catalog: a home & kitchen / lifestyle shop built from category data.

Each category lists product families (a noun, a base price, variants). Families name the
accessories people buy with them and the set group they belong to, and `demo.shop`
uses exactly that structure to generate orders, so the co-purchase patterns the models
should find (espresso machine -> tamper, dinner plates -> bowls of the same collection)
are known in advance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import to_iso


@dataclass(frozen=True)
class Family:
    """A kind of product; every variant becomes one product.

    A variant is a title prefix, or (prefix, season_tags) when only that variant is seasonal.
    Families sharing a `set_group` in one category use the same variants (collections), and
    a set is bought as several of those families in one collection.
    """

    key: str
    noun: str
    price: float
    variants: tuple[str | tuple[str, str], ...]
    accessories: tuple[str, ...] = ()
    season: str = ""
    set_group: str = ""
    consumable: bool = False


@dataclass(frozen=True)
class Category:
    """A catalog category with its vendors, copy and families."""

    name: str
    slug: str
    vendors: tuple[str, ...]
    pitch: str
    families: tuple[Family, ...]


@dataclass(frozen=True)
class DemoProduct:
    """A generated product plus the structure order generation needs."""

    record: dict[str, object]
    family: str
    category: str
    collection: str
    set_group: str
    band: int  # 0 budget, 1 mid, 2 premium
    seasons: tuple[str, ...]
    created_at: str
    sellable: bool  # active status: drafts are never shown or sold


F = Family
TABLE_SETS = ("Nordic White", "Terracotta", "Sage", "Midnight Blue")
BED_SETS = ("White Percale", "Stone Linen", "Sage Linen", "Charcoal Sateen")
TOWEL_SETS = ("White", "Slate", "Eucalyptus")
XMAS = "christmas|winter"

# The catalog as data: one line per family. fmt: off keeps it a readable table.
# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("Coffee", "coffee", ("Bean & Brew", "Barista Co."), "for better coffee at home", (
        F("espresso_machine", "Espresso Machine", 449, ("Barista Pro", "Compact", "Dual Boiler"),
          ("tamper", "milk_jug", "coffee_beans", "knock_box")),
        F("grinder", "Burr Coffee Grinder", 129, ("Precision", "Hand", "Flat"), ("coffee_beans",)),
        F("pour_over", "Pour-Over Dripper", 29, ("Ceramic", "Glass", "Copper"),
          ("paper_filters", "gooseneck_kettle", "coffee_beans")),
        F("gooseneck_kettle", "Gooseneck Kettle", 69, ("Matte Black", "Brushed Steel")),
        F("paper_filters", "Paper Filters (100)", 7, ("White", "Natural"), consumable=True),
        F("tamper", "Espresso Tamper", 35, ("Walnut", "Steel")),
        F("milk_jug", "Milk Frothing Jug", 22, ("350 ml", "600 ml")),
        F("knock_box", "Knock Box", 29, ("Rubber", "Oak")),
        F("coffee_beans", "Coffee Beans 1 kg", 24, ("Ethiopia Yirgacheffe", "Colombia Huila",
          "House Espresso", "Decaf Swiss Water", "Brazil Cerrado"), consumable=True),
        F("french_press", "French Press", 39, ("Classic", "Double-Wall"), ("coffee_beans",)),
        F("coffee_canister", "Coffee Canister", 25, ("Vacuum", "Ceramic")),
    )),
    Category("Kitchen Appliances", "kitchen-appliances", ("Kitchenly", "Hausmann"),
             "that earns its place on the counter", (
        F("stand_mixer", "Stand Mixer", 349, ("Artisan", "Heritage", "Compact"),
          ("mixer_attachment", "mixing_bowl")),
        F("mixer_attachment", "Mixer Attachment", 79,
          ("Pasta Roller", "Meat Grinder", "Spiralizer")),
        F("blender", "Blender", 119, ("High-Speed", "Personal", "Pro 1500"), ("blender_cups",)),
        F("blender_cups", "Blender To-Go Cups (2)", 19, ("Clear", "Tritan")),
        F("toaster", "Toaster", 59, ("2-Slice", "4-Slice", "Retro")),
        F("kettle", "Electric Kettle", 49, ("Glass", "Retro", "Temperature Control")),
        F("air_fryer", "Air Fryer", 139, ("5 L", "Dual Basket"), ("air_fryer_liners",)),
        F("air_fryer_liners", "Air Fryer Liners (100)", 9, ("Round", "Square"), consumable=True),
        F("food_processor", "Food Processor", 179, ("Compact", "Family")),
        F("juicer", "Slow Juicer", 199, ("Vertical", "Horizontal")),
        F("sous_vide", "Sous Vide Stick", 129, ("Wi-Fi", "Classic"), ("vacuum_bags",)),
        F("vacuum_bags", "Vacuum Sealer Bags (50)", 14, ("Quart", "Gallon"), consumable=True),
    )),
    Category("Cookware", "cookware", ("Castiron & Co", "Hausmann"), "built for everyday cooking", (
        F("skillet", "Cast Iron Skillet", 59, ("20 cm", "26 cm", "30 cm"),
          ("skillet_handle", "seasoning_oil")),
        F("skillet_handle", "Silicone Handle Cover", 9, ("Red", "Black")),
        F("seasoning_oil", "Cast Iron Seasoning Oil", 12, ("Classic",), consumable=True),
        F("dutch_oven", "Enamelled Dutch Oven", 189, ("Cerise", "Sage", "Ocean", "Volcanic"),
          ("oven_gloves", "trivet")),
        F("saucepan", "Stainless Saucepan", 69, ("16 cm", "18 cm", "20 cm")),
        F("frying_pan", "Non-Stick Frying Pan", 45, ("24 cm", "28 cm"), ("spatula",)),
        F("wok", "Carbon Steel Wok", 55, ("Round-Bottom", "Flat-Bottom")),
        F("knife", "Knife", 89, ("Damascus Chef's", "German Steel Chef's", "Santoku", "Bread",
          "Paring"), ("whetstone", "cutting_board")),
        F("whetstone", "Whetstone", 39, ("1000/6000 Grit",)),
        F("cutting_board", "Cutting Board", 49, ("Oak", "Walnut End-Grain", "Bamboo")),
        F("spatula", "Silicone Spatula", 12, ("Red", "Grey")),
        F("oven_gloves", "Oven Gloves", 19, ("Linen", "Silicone")),
    )),
    Category("Bakeware", "bakeware", ("Bake House",), "for weekend baking", (
        F("cake_tin", "Springform Cake Tin", 24, ("20 cm", "24 cm", "26 cm"),
          ("baking_paper", "cooling_rack")),
        F("loaf_tin", "Loaf Tin", 18, ("1 lb", "2 lb"), ("baking_paper",)),
        F("baking_tray", "Baking Tray", 19, ("Small", "Large"), ("baking_paper",)),
        F("muffin_tin", "Muffin Tin", 21, ("6-Cup", "12-Cup"), ("muffin_cases",)),
        F("muffin_cases", "Muffin Cases (100)", 5, ("White", "Kraft", "Rainbow"), consumable=True),
        F("mixing_bowl", "Mixing Bowl Set", 35, ("Glass", "Stainless", "Ceramic")),
        F("rolling_pin", "Rolling Pin", 22, ("Beech", "Marble")),
        F("baking_paper", "Baking Paper Roll", 6, ("Unbleached",), consumable=True),
        F("cooling_rack", "Cooling Rack", 15, ("Single", "Stacking")),
        F("proving_basket", "Bread Proving Basket", 25, ("Round", "Oval"),
          ("dough_scraper", "bread_lame")),
        F("dough_scraper", "Dough Scraper", 7, ("Steel", "Plastic")),
        F("bread_lame", "Bread Lame", 14, ("Walnut",)),
        F("cookie_cutters", "Cookie Cutter Set", 15, ("Christmas Star", "Gingerbread Family"),
          ("rolling_pin",), season="christmas"),
        F("kitchen_scale", "Digital Kitchen Scale", 29, ("Slim", "Glass")),
    )),
    Category("Tableware", "tableware", ("Stoneware Studio",), "for the table you gather around", (
        F("dinner_plate", "Dinner Plates (4)", 39, TABLE_SETS, set_group="dinnerware"),
        F("side_plate", "Side Plates (4)", 29, TABLE_SETS, set_group="dinnerware"),
        F("bowl", "Pasta Bowls (4)", 35, TABLE_SETS, set_group="dinnerware"),
        F("mug", "Mugs (2)", 22, TABLE_SETS, set_group="dinnerware"),
        F("serving_board", "Serving Board", 45, ("Oak", "Olive Wood", "Slate"), ("cheese_knives",)),
        F("cheese_knives", "Cheese Knife Set", 25, ("Brass", "Steel")),
        F("wine_glass", "Wine Glasses (4)", 39, ("Crystal", "Stemless")),
        F("cutlery", "Cutlery Set (16 pcs)", 69, ("Brushed Gold", "Matte Black", "Mirror Steel")),
        F("trivet", "Trivet", 15, ("Cork", "Cast Iron")),
    )),
    Category("Home Decor", "home-decor", ("Maison Nord",), "to make a house feel like home", (
        F("vase", "Vase", 35, ("Ceramic Bud", "Glass", "Stoneware Tall")),
        F("candle", "Scented Candle", 24, ("Fig & Cedar", "Sea Salt", "Amber",
          ("Cinnamon Spice", XMAS)), ("candle_holder",)),
        F("candle_holder", "Candle Holder", 19, ("Brass", "Marble")),
        F("cushion", "Cushion Cover", 29, ("Linen Sage", "Velvet Rust", "Boucle Cream"),
          ("cushion_insert",)),
        F("cushion_insert", "Cushion Insert 45x45", 12, ("Feather", "Hollowfibre")),
        F("picture_frame", "Picture Frame", 22, ("Oak A4", "Black A3", "Brass 10x15")),
        F("mirror", "Round Wall Mirror", 89, ("Brass 60 cm", "Black 80 cm")),
        F("baubles", "Christmas Bauble Set", 19, ("Gold", "Red", "Frosted"),
          ("fairy_lights", "tree_topper"), season=XMAS),
        F("fairy_lights", "Fairy Lights", 25, ("Warm White 10 m", "Copper 5 m"), season=XMAS),
        F("tree_topper", "Tree Topper Star", 18, ("Gold", "Silver"), season=XMAS),
        F("plant_pot", "Plant Pot", 25, ("Terracotta", "Concrete", "Glazed Green")),
    )),
    Category("Bedding", "bedding", ("Sleepwell",), "for deeper sleep", (
        F("duvet_cover", "Duvet Cover", 89, BED_SETS, set_group="bed_linen"),
        F("pillowcases", "Pillowcase Pair", 29, BED_SETS, set_group="bed_linen"),
        F("fitted_sheet", "Fitted Sheet", 45, BED_SETS, set_group="bed_linen"),
        F("duvet", "Duvet", 129, ("All-Season", ("Winter Warm", "winter")), ("pillow",)),
        F("pillow", "Pillow", 39, ("Soft", "Firm")),
        F("blanket", "Wool Throw Blanket", 79, ("Herringbone", "Cable Knit", "Checked"),
          season="winter"),
        F("mattress_protector", "Mattress Protector", 39, ("Double", "King")),
        F("hot_water_bottle", "Hot Water Bottle", 19, ("Knitted Grey", "Faux Fur"),
          season="winter"),
    )),
    Category("Bath", "bath", ("Bathhouse",), "for a slower morning", (
        F("bath_towel", "Bath Towel", 25, TOWEL_SETS, set_group="towels"),
        F("hand_towel", "Hand Towel", 12, TOWEL_SETS, set_group="towels"),
        F("bath_mat", "Bath Mat", 22, TOWEL_SETS, set_group="towels"),
        F("bathrobe", "Waffle Bathrobe", 59, ("S/M", "L/XL")),
        F("soap_dispenser", "Soap Dispenser", 19, ("Amber Glass", "Concrete"), ("hand_soap",)),
        F("hand_soap", "Hand Soap Refill 1 L", 14, ("Lavender", "Citrus", "Unscented"),
          consumable=True),
        F("bath_salts", "Bath Salts", 16, ("Magnesium", "Rose"), consumable=True),
        F("shower_caddy", "Shower Caddy", 29, ("Bamboo", "Black Steel")),
    )),
    Category("Garden", "garden", ("Greenhand",), "for a garden that grows with you", (
        F("seed_kit", "Seed Kit", 9, ("Herb", "Tomato", "Wildflower", "Salad"),
          ("seed_tray", "compost"), season="spring|summer"),
        F("seed_tray", "Seed Tray with Lid", 12, ("Small", "Large"), season="spring"),
        F("compost", "Peat-Free Compost 40 L", 11, ("Multi-Purpose",), season="spring|summer",
          consumable=True),
        F("watering_can", "Watering Can", 29, ("Galvanised 5 L", "Indoor 1.5 L")),
        F("hose", "Garden Hose", 49, ("15 m", "30 m"), ("hose_nozzle",), season="spring|summer"),
        F("hose_nozzle", "Spray Nozzle", 14, ("Brass", "7-Pattern"), season="spring|summer"),
        F("pruner", "Pruning Shears", 29, ("Bypass", "Anvil"), ("gardening_gloves",)),
        F("gardening_gloves", "Gardening Gloves", 15, ("Leather", "Nitrile")),
        F("raised_bed", "Raised Bed", 119, ("Cedar 120 cm", "Steel 180 cm"), ("compost",),
          season="spring"),
        F("bird_feeder", "Bird Feeder", 25, ("Hanging", "Window"), season="winter"),
        F("kneeler", "Garden Kneeler", 19, ("Foam",)),
        F("solar_lights", "Solar Path Lights (6)", 35, ("Warm White",), season="summer"),
    )),
    Category("Outdoor & Camping", "outdoor-camping", ("Trailmark",), "for nights under the stars", (
        F("tent", "Tent", 249, ("2-Person Dome", "4-Person Tunnel", "Ultralight 1-Person"),
          ("sleeping_bag", "sleeping_mat", "camping_stove"), season="summer"),
        F("sleeping_bag", "Sleeping Bag", 89, ("3-Season", ("Summer", "summer"), "Down Winter")),
        F("sleeping_mat", "Sleeping Mat", 59, ("Self-Inflating", "Foam")),
        F("camping_stove", "Camping Stove", 49, ("Gas Canister", "Multi-Fuel"),
          ("gas_canister", "cook_set")),
        F("gas_canister", "Gas Canister 230 g", 6, ("Butane/Propane",), consumable=True),
        F("cook_set", "Camping Cook Set", 35, ("Titanium", "Aluminium")),
        F("headlamp", "Headlamp", 29, ("300 lm", "Rechargeable 500 lm")),
        F("backpack", "Hiking Backpack", 119, ("35 L", "55 L"), ("water_bottle",)),
        F("water_bottle", "Insulated Water Bottle", 29, ("500 ml", "1 L")),
        F("camping_chair", "Camping Chair", 45, ("Folding", "Low Beach"), season="summer"),
        F("lantern", "LED Lantern", 25, ("Collapsible", "Classic")),
    )),
    Category("Fitness", "fitness", ("Motion",), "for training at home", (
        F("yoga_mat", "Yoga Mat", 39, ("Cork", "TPE 6 mm", "Travel"), ("yoga_block", "yoga_strap")),
        F("yoga_block", "Yoga Blocks (2)", 19, ("Cork", "Foam")),
        F("yoga_strap", "Yoga Strap", 9, ("Cotton",)),
        F("dumbbells", "Dumbbell Pair", 29, ("2 kg", "5 kg", "10 kg"), ("exercise_mat",)),
        F("kettlebell", "Kettlebell", 39, ("8 kg", "12 kg", "16 kg")),
        F("resistance_bands", "Resistance Band Set", 24, ("Loop", "Tube")),
        F("foam_roller", "Foam Roller", 25, ("Smooth", "Textured")),
        F("jump_rope", "Jump Rope", 15, ("Speed", "Weighted")),
        F("shaker", "Shaker Bottle", 12, ("700 ml",)),
        F("exercise_mat", "Exercise Mat", 29, ("Thick 15 mm", "Folding")),
    )),
    Category("Stationery", "stationery", ("Paper & Pen",), "for lists, letters and plans", (
        F("notebook", "Notebook", 18, ("A5 Dotted", "A5 Lined", "A4 Plain"), ("pen",)),
        F("planner", "2027 Planner", 29, ("Weekly", "Daily"), season="christmas"),
        F("diary", "2026 Diary", 19, ("Pocket",)),
        F("pen", "Gel Pen Set", 12, ("Black", "Pastel")),
        F("fountain_pen", "Fountain Pen", 49, ("Brass", "Matte Black"), ("ink",)),
        F("ink", "Ink Bottle 50 ml", 12, ("Blue-Black", "Sepia", "Teal"), consumable=True),
        F("desk_organiser", "Desk Organiser", 29, ("Oak", "Felt")),
        F("washi_tape", "Washi Tape Set", 9, ("Botanical", ("Christmas", "christmas"))),
        F("greeting_cards", "Greeting Card Pack", 12, ("Birthday", ("Christmas", "christmas"))),
        F("wrapping_paper", "Wrapping Paper Roll", 8, ("Kraft", ("Christmas Red", "christmas"))),
        F("sketchbook", "Sketchbook", 16, ("A4", "A5")),
    )),
)
# fmt: on

BANDS = ("budget", "mid", "premium")
_BAND_FACTOR = (0.75, 1.0, 1.45)
_FEATURES = (
    "Made to last",
    "Easy to clean",
    "Thoughtfully designed",
    "Loved by our customers",
    "Sustainably sourced",
    "Two-year guarantee",
)


def _variant(variant: str | tuple[str, str]) -> tuple[str, str]:
    return (variant, "") if isinstance(variant, str) else variant


def _shop_price(value: float) -> float:
    """Round to a shop-like price: x.99 under 100, whole pounds/euros above."""
    if value < 100:
        return max(round(value) - 0.01, 2.99)
    return float(round(value / 5) * 5 - 1)


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in keep.split("-") if part)


def _description(
    title: str, category: Category, family: Family, band: str, rng: random.Random
) -> str:
    feature = rng.choice(_FEATURES)
    extra = {"budget": "Great value", "mid": "Everyday quality", "premium": "Our finest"}[band]
    return (
        f"<p>The {title} {category.pitch}.</p>\n"
        f"<p><strong>{feature}.</strong> {extra} from the {family.noun.lower()} range.</p>"
    )


def _created_at(rng: random.Random, now: datetime, days: int) -> datetime:
    """Most products predate the order window; some arrive during it, a few are new in."""
    roll = rng.random()
    if roll < 0.08:
        return now - timedelta(days=rng.uniform(1, 30))
    if roll < 0.22:
        return now - timedelta(days=rng.uniform(30, days))
    return now - timedelta(days=days + rng.uniform(1, 240))


def build_catalog(rng: random.Random, now: datetime, days: int) -> list[DemoProduct]:
    """Every demo product, with ids p001.. in catalog order (deterministic for a given rng)."""
    products: list[DemoProduct] = []
    for category in CATEGORIES:
        for family in category.families:
            for variant in family.variants:
                prefix, variant_season = _variant(variant)
                products.append(
                    _build_product(
                        rng, now, days, category, family, prefix, variant_season, len(products) + 1
                    )
                )
    return products


def _build_product(
    rng: random.Random,
    now: datetime,
    days: int,
    category: Category,
    family: Family,
    prefix: str,
    variant_season: str,
    number: int,
) -> DemoProduct:
    product_id = f"p{number:03d}"
    title = f"{prefix} {family.noun}"
    band = rng.choices((0, 1, 2), weights=(3, 5, 2))[0]
    price = _shop_price(family.price * _BAND_FACTOR[band] * rng.uniform(0.92, 1.08))
    compare_at = _shop_price(price * rng.uniform(1.15, 1.35)) if rng.random() < 0.15 else None
    seasons = tuple(s for s in (variant_season or family.season).split("|") if s)
    stock_roll = rng.random()
    inventory = 0 if stock_roll < 0.05 else None if stock_roll < 0.08 else rng.randint(3, 250)
    status_roll = rng.random()
    status = "draft" if status_roll < 0.02 else "archived" if status_roll < 0.04 else "active"
    available_until = None
    if family.key == "diary" or rng.random() < 0.01:
        available_until = (now - timedelta(days=rng.randint(20, 120))).strftime("%Y-%m-%d")
    created = to_iso(_created_at(rng, now, days))
    tags = [category.slug, _slug(family.noun), _slug(prefix), BANDS[band], *seasons]
    if family.set_group:
        tags.append(f"{_slug(prefix)}-collection")
    record: dict[str, object] = {
        "product_id": product_id,
        "title": title,
        "description": _description(title, category, family, BANDS[band], rng),
        "category": category.name,
        "tags": "|".join(dict.fromkeys(t for t in tags if t)),
        "vendor": rng.choice(category.vendors),
        "price": price,
        "compare_at_price": compare_at,
        "inventory": inventory,
        "status": status,
        "margin": round(rng.uniform(0.2, 0.6), 2),
        "season_tags": "|".join(seasons),
        "available_until": available_until,
        "image_url": f"/demo/static/img/{category.slug}.svg",
        "url": f"/demo/product/{product_id}",
        "created_at": created,
    }
    return DemoProduct(
        record=record,
        family=family.key,
        category=category.name,
        collection=prefix if family.set_group else "",
        set_group=family.set_group,
        band=band,
        seasons=seasons,
        created_at=created,
        sellable=status != "draft",
    )


def family_index() -> dict[str, Family]:
    """Every family by key (keys are unique across categories)."""
    return {f.key: f for c in CATEGORIES for f in c.families}
