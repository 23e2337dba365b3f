"""The identifiers planted in free text, shared by the redaction and the output-scan tests."""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Every kind of identifier of issue 13, as a respondent might write it. Each entry: an id, the
# free text, the kind `redact` reports, the part that must not survive, and whether the output
# scan's own patterns find it too (names found only by the tagger or a weak cue, and "name:"
# labels, are found in outputs by the raw-free-text check instead).
# --------------------------------------------------------------------------------------------

PLANTED = [
    ("mobile-fullwidth", "手机１３８１２３４５６７８", "mobile_phone", "１２３４５６７８", True),
    ("mobile-dots", "电话138.1234.5678谢谢", "mobile_phone", "138.1234.5678", True),
    ("mobile-spaced", "打 138  1234 5678 找我", "mobile_phone", "138  1234 5678", True),
    ("mobile-odd-spacing", "打 1 3 8 1 2 3 4 5 6 7 8 吧", "mobile_phone", "1 3 8 1 2 3 4", True),
    ("mobile-numerals", "电话一三八一二三四五六七八", "mobile_phone", "一二三四五六七八", True),
    ("mobile-yao", "幺三八 幺二三四 五六七八找我", "mobile_phone", "幺二三四 五六七八", True),
    ("mobile-plus86", "电话：+86 139-1234-5678", "mobile_phone", "139-1234-5678", True),
    ("id-18-spaced", "身份证 110105 19491231 002X", "id_card", "110105 19491231 002X", True),
    ("id-18", "身份证号11010519491231002X可核实", "id_card", "11010519491231002X", True),
    ("id-15", "老身份证110105491231002", "id_card", "110105491231002", True),
    ("passport-e", "护照号E12345678", "passport", "E12345678", True),
    ("passport-g", "我的护照 G23456789 已过期", "passport", "G23456789", True),
    ("passport-cue", "passport no. C01X00T47", "passport", "C01X00T47", True),
    ("plate-dot", "车牌京A·12345经常限行", "licence_plate", "A·12345", True),
    ("plate", "我的车京A12345", "licence_plate", "A12345", True),
    ("plate-new-energy", "新能源车京AD12345不限行", "licence_plate", "AD12345", True),
    ("address-road", "住在建国路88号院3号楼2单元501室", "address", "88号院3号楼2单元501", True),
    ("address-estate", "家住幸福小区5号楼3单元201", "address", "5号楼3单元201", True),
    ("address-lane", "上海南京东路123弄45号", "address", "123弄45号", True),
    ("qq", "QQ：123456789", "qq", "123456789", True),
    ("qq-kou", "加扣扣 12345678 聊", "qq", "12345678", True),
    ("email-fullwidth-at", "邮箱zhangsan＠example.com", "email", "zhangsan＠example.com", True),
    ("email-chinese-domain", "邮件 张三@例子.中国", "email", "张三@例子.中国", True),
    ("email-spelled", "write to zhangsan at example dot com", "email", "zhangsan at example", True),
    ("email-bracketed", "li.lei(at)163(dot)com", "email", "li.lei(at)163", True),
    ("name-benren", "本人李建国，反映一个情况", "personal_name", "李建国", False),
    ("name-woshi", "我是张伟，住在附近", "personal_name", "张伟", False),
    ("name-xingming-spaced", "姓 名：赵龑", "personal_name", "赵龑", True),
    ("name-jiao", "我叫王小明，住在丰台", "personal_name", "王小明", True),
    ("name-contact", "联系人：欧阳娜娜", "personal_name", "欧阳娜娜", True),
    ("name-rare-char", "姓名：䶮龑鹏", "personal_name", "䶮龑鹏", True),
    ("name-middle-dot", "阿卜杜·热合曼建议多种树", "personal_name", "阿卜杜·热合曼", True),
    ("name-pinyin", "My name is Wang Xiaoming", "personal_name", "Wang Xiaoming", True),
    ("name-pinyin-label", "name: Zhang San", "personal_name", "Zhang San", False),
    ("name-no-cue", "王小明建议加强监管", "personal_name", "王小明", False),
    ("wechat-v", "V信 bj_haze123", "wechat_id", "bj_haze123", True),
    ("wechat-wx", "wx号：abc_def1", "wechat_id", "abc_def1", True),
    ("wechat-weixin-homophone", "威信：zhangsan88", "wechat_id", "zhangsan88", True),
    ("wechat-id", "微信号：haze2016", "wechat_id", "haze2016", True),
    ("landline-parentheses", "座机(010)6512-3456", "landline_phone", "6512-3456", True),
    ("landline-hyphen", "办公 010-65123456", "landline_phone", "010-65123456", True),
    ("landline-cue", "电话 6512 3456", "landline_phone", "6512 3456", True),
    ("ipv6", "IPv6 2001:db8:85a3::8a2e:370:7334", "ip_address", "2001:db8:85a3", True),
    ("bank-card-spaced", "银行卡 6222 0212 3456 7890 123", "bank_card", "6222 0212 3456", True),
    ("bank-card", "卡号6222021234567890", "bank_card", "6222021234567890", True),
    ("fill-in-phone", "其他〖王小明 13812345678〗", "mobile_phone", "13812345678", True),
    ("fill-in-name", "其他〖联系人王小明〗", "personal_name", "王小明", True),
    # international
    ("e164-south-africa", "call +27 82 123 4567 after 5", "phone_number", "82 123 4567", True),
    ("e164-us", "phone +1 (202) 555-0143", "phone_number", "555-0143", True),
    ("national-id-13", "ID number 8001015009087", "national_id", "8001015009087", True),
    ("national-id-13-luhn", "8001015009087 is mine", "national_id", "8001015009087", True),
    ("name-english", "Hello, my name is John Smith.", "personal_name", "John Smith", True),
]  # fmt: skip
PLANTED_IDS = [case[0] for case in PLANTED]
