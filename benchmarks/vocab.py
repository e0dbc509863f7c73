"""Word lists for the synthetic generator: divisions, authorities, name parts.

The division codes and names are real (GB/T 2260), because authorities and identity
numbers carry them. Company names are combinations of a place, an invented brand of two
characters and a trade word; they are not taken from any register, and the brands of the
real companies in regulations.md §8 are excluded so none of them can be produced.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Division:
    """An administrative division and the short form its documents are numbered with."""

    code: str
    name: str
    place: str  # the name without its level suffix, as a company name starts
    short: str  # one-character abbreviation used in document numbers (咸应急罚〔2024〕12号)
    level: str


@dataclass(frozen=True)
class City:
    """A city-level division with its province and some of its counties."""

    city: Division
    province: Division
    counties: tuple[Division, ...] = ()


def _p(code: str, name: str, short: str) -> Division:
    return Division(code, name, name.rstrip("省市"), short, "province")


def _c(code: str, name: str, short: str) -> Division:
    return Division(code, name, name[:-1], short, "city")


def _k(code: str, name: str, short: str) -> Division:
    return Division(code, name, name[:-1], short, "county")


_SHAANXI = _p("610000", "陕西省", "陕")
_SHANXI = _p("140000", "山西省", "晋")
_NMG = Division("150000", "内蒙古自治区", "内蒙古", "蒙", "province")
_JIANGSU = _p("320000", "江苏省", "苏")
_ZHEJIANG = _p("330000", "浙江省", "浙")
_SHANDONG = _p("370000", "山东省", "鲁")
_HENAN = _p("410000", "河南省", "豫")
_HUBEI = _p("420000", "湖北省", "鄂")
_HUNAN = _p("430000", "湖南省", "湘")
_GUANGDONG = _p("440000", "广东省", "粤")
_SICHUAN = _p("510000", "四川省", "川")
_GUIZHOU = _p("520000", "贵州省", "黔")
_YUNNAN = _p("530000", "云南省", "云")
_LIAONING = _p("210000", "辽宁省", "辽")
_HEBEI = _p("130000", "河北省", "冀")

CITIES: tuple[City, ...] = (
    City(_c("610100", "西安市", "西"), _SHAANXI, (_k("610113", "雁塔区", "雁"),)),
    City(_c("610400", "咸阳市", "咸"), _SHAANXI, (_k("610481", "兴平市", "兴"),)),
    City(_c("610800", "榆林市", "榆"), _SHAANXI, (_k("610881", "神木市", "神"),)),
    City(_c("610300", "宝鸡市", "宝"), _SHAANXI),
    City(_c("140100", "太原市", "并"), _SHANXI),
    City(_c("140200", "大同市", "同"), _SHANXI),
    City(_c("141100", "吕梁市", "吕"), _SHANXI),
    City(_c("150200", "包头市", "包"), _NMG),
    City(_c("150600", "鄂尔多斯市", "鄂"), _NMG),
    City(_c("320100", "南京市", "宁"), _JIANGSU),
    City(_c("320500", "苏州市", "苏"), _JIANGSU, (_k("320583", "昆山市", "昆"),)),
    City(_c("320900", "盐城市", "盐"), _JIANGSU),
    City(_c("330100", "杭州市", "杭"), _ZHEJIANG, (_k("330106", "西湖区", "西"),)),
    City(_c("330200", "宁波市", "甬"), _ZHEJIANG),
    City(_c("370100", "济南市", "济"), _SHANDONG),
    City(_c("370200", "青岛市", "青"), _SHANDONG),
    City(_c("370300", "淄博市", "淄"), _SHANDONG),
    City(_c("370500", "东营市", "东"), _SHANDONG),
    City(_c("410100", "郑州市", "郑"), _HENAN),
    City(_c("410300", "洛阳市", "洛"), _HENAN),
    City(_c("410400", "平顶山市", "平"), _HENAN),
    City(_c("420100", "武汉市", "武"), _HUBEI),
    City(_c("420500", "宜昌市", "宜"), _HUBEI),
    City(_c("430100", "长沙市", "长"), _HUNAN),
    City(_c("430200", "株洲市", "株"), _HUNAN),
    City(_c("440100", "广州市", "穗"), _GUANGDONG),
    City(_c("440300", "深圳市", "深"), _GUANGDONG, (_k("440305", "南山区", "南"),)),
    City(_c("440600", "佛山市", "佛"), _GUANGDONG),
    City(_c("510100", "成都市", "成"), _SICHUAN),
    City(_c("510400", "攀枝花市", "攀"), _SICHUAN),
    City(_c("511700", "达州市", "达"), _SICHUAN),
    City(_c("520100", "贵阳市", "筑"), _GUIZHOU),
    City(_c("520200", "六盘水市", "六"), _GUIZHOU),
    City(_c("530100", "昆明市", "昆"), _YUNNAN),
    City(_c("530300", "曲靖市", "曲"), _YUNNAN),
    City(_c("210100", "沈阳市", "沈"), _LIAONING),
    City(_c("210200", "大连市", "连"), _LIAONING),
    City(_c("130100", "石家庄市", "石"), _HEBEI),
    City(_c("130200", "唐山市", "唐"), _HEBEI),
    City(_c("130400", "邯郸市", "邯"), _HEBEI),
)

NATIONAL = Division("100000", "应急管理部", "", "", "national")


def authority_name(division: Division) -> str:
    """The emergency-management authority of a division."""
    if division.level == "national":
        return division.name
    return division.name + ("应急管理厅" if division.level == "province" else "应急管理局")


# Industry code -> (weight, trade words used in names). None = industry not reported.
INDUSTRIES: dict[str | None, tuple[int, tuple[str, ...]]] = {
    "mining": (10, ("矿业", "煤业", "矿产开发", "煤炭")),
    "chemicals": (10, ("化工", "石化", "精细化工")),
    "pharmaceuticals": (3, ("制药", "药业", "生物医药")),
    "hazardous_chemicals": (8, ("危险品储运", "化学品", "燃气")),
    "fireworks": (2, ("烟花爆竹", "花炮")),
    "oil_extraction": (2, ("油田技术服务", "石油开采")),
    "metallurgy": (6, ("钢铁", "冶金", "特钢")),
    "non_ferrous": (3, ("有色金属", "铝业", "铜业")),
    "building_materials": (6, ("建材", "水泥", "玻璃")),
    "machinery": (10, ("机械", "重工", "装备制造")),
    "light_industry": (6, ("纸业", "食品", "家具")),
    "textiles": (4, ("纺织", "印染")),
    "tobacco": (1, ("卷烟材料",)),
    "commerce": (10, ("商贸", "物流", "商业")),
    "construction": (12, ("建设工程", "建筑工程")),
    "transport": (8, ("运输", "客运")),
    "other": (5, ("实业", "科技")),
    None: (9, ("实业", "工贸", "科技")),
}

AGENCY_WORDS = ("安全技术", "安全评价", "检测技术", "安全科技", "职业卫生技术服务")
LEGAL_FORMS = (("有限公司", 70), ("有限责任公司", 20), ("股份有限公司", 10))

_BRAND_CHARS = "恒泰鑫源华盛宏达金安通永信嘉德昌隆兴丰富利远辉宇方正和新星明乾坤凯旭晟峰岳川润祥瀚鼎晖"
# Brands of the real companies named in regulations.md §8: never generated.
_EXCLUDED = {"瑞海", "滨源", "天嘉", "嘉宜", "天工", "大成", "同兴", "兴盛", "盛达", "蜀捷"}
BRANDS: tuple[str, ...] = tuple(
    a + b for a in _BRAND_CHARS for b in _BRAND_CHARS if a != b and a + b not in _EXCLUDED
)

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏飞宇浩凯晨"
